"""Orthogonal initialisation for Equinox layers (the PPO convention: gain √2 hidden, 0.01
policy head, 1.0 value head; zero biases)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


def orthogonal_linear(layer: eqx.nn.Linear, key: jax.Array, scale: float) -> eqx.nn.Linear:
    w = jax.nn.initializers.orthogonal(scale)(key, layer.weight.shape, layer.weight.dtype)
    layer = eqx.tree_at(lambda m: m.weight, layer, w)
    if layer.bias is not None:
        layer = eqx.tree_at(lambda m: m.bias, layer, jnp.zeros_like(layer.bias))
    return layer


def linear(in_size: int, out_size: int, key: jax.Array, scale: float = 2**0.5) -> eqx.nn.Linear:
    """``eqx.nn.Linear`` with orthogonal weights of gain ``scale`` and zero bias."""
    k1, k2 = jax.random.split(key)
    return orthogonal_linear(eqx.nn.Linear(in_size, out_size, key=k1), k2, scale)
