"""Multi-layer perceptron with orthogonal initialisation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.dense import Dense
from jaxrl.networks.init import linear

ACTIVATIONS: dict[str, Callable] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "elu": jax.nn.elu,
}


def activation(name: str) -> Callable:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class MLP(eqx.Module):
    """``in_size -> hidden... -> out_size``; the last layer has gain ``out_scale`` and no
    activation. ``out_size=None`` ends with the last hidden layer (activated)."""

    layers: tuple[Dense, ...]
    act: Callable = eqx.field(static=True)
    activate_last: bool = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        hidden: Sequence[int],
        out_size: int | None,
        key: jax.Array,
        activation_name: str = "tanh",
        out_scale: float = 1.0,
    ):
        sizes = [in_size, *hidden] + ([out_size] if out_size is not None else [])
        keys = jax.random.split(key, max(len(sizes) - 1, 1))
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = out_size is not None and i == len(sizes) - 2
            layers.append(linear(a, b, keys[i], out_scale if last else 2**0.5))
        self.layers = tuple(layers)
        self.act = activation(activation_name)
        self.activate_last = out_size is None

    def __call__(self, x: jax.Array) -> jax.Array:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1 or self.activate_last:
                x = self.act(x)
        return x
