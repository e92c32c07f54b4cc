"""Gradient clipping whose threshold may be a traced hyperparameter (a vmapped sweep)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def clip_by_global_norm(grads, max_norm):
    """Scale ``grads`` so their global norm is at most ``max_norm`` (``inf``: unchanged)."""
    norm = optax.global_norm(grads)
    scale = jnp.minimum(1.0, max_norm / jnp.maximum(norm, 1e-12))
    return jax.tree.map(lambda g: g * scale, grads)
