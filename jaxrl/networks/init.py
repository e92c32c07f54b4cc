"""Orthogonal initialisation for Equinox layers (the PPO convention: gain √2 hidden, 0.01
policy head, 1.0 value head; zero biases).

:func:`orthogonal` draws exactly what ``jax.nn.initializers.orthogonal`` draws (the QR of a
Gaussian matrix, signs fixed by ``diag(R)``; Mezzadri 2007), but a ``vmap`` over it (seeds in
one program) runs one QR after another (:func:`jaxrl.linalg.qr`) instead of jaxlib's batched QR,
which can hang XLA's CPU runtime: two 512 × 512 orthogonal initialisations under ``jit(vmap)``
over two seeds hung in 5 of 5 runs with jax's initialiser and in none of 7 with this one.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxrl.linalg import qr
from jaxrl.networks.dense import Dense


def orthogonal(scale: float = 1.0, column_axis: int = -1):
    """``jax.nn.initializers.orthogonal(scale, column_axis)`` (same values for the same key)
    whose batched form loops over single QRs (see the module docstring)."""

    def init(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"orthogonal: expected a shape of rank >= 2, got {shape}")
        if 0 in shape:
            return jnp.zeros(shape, dtype)
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        z = jax.random.normal(key, (max(n_rows, n_cols), min(n_rows, n_cols)), dtype)
        q, r = qr(z)
        q = q * jnp.sign(jnp.diagonal(r))[None, :]
        if n_rows < n_cols:
            q = q.T
        axis = column_axis % len(shape)
        q = q.reshape(shape[:axis] + shape[axis + 1:] + (n_cols,))
        return jnp.asarray(scale, dtype) * jnp.moveaxis(q, -1, axis)

    return init


def linear(in_size: int, out_size: int, key: jax.Array, scale: float = 2**0.5) -> Dense:
    """:class:`Dense` ``in_size -> out_size`` with orthogonal weights of gain ``scale`` and zero
    bias (the weights drawn ``[out, in]`` as for an ``eqx.nn.Linear``, stored transposed)."""
    _, k2 = jax.random.split(key)  # the first key drew eqx.nn.Linear's discarded default init
    w = orthogonal(scale)(k2, (out_size, in_size), jnp.float32)
    return Dense(w.T, jnp.zeros((out_size,), jnp.float32))
