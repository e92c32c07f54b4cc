"""Orthogonal initialisation for Equinox layers (the PPO convention: gain √2 hidden, 0.01
policy head, 1.0 value head; zero biases).

:func:`orthogonal` draws exactly what ``jax.nn.initializers.orthogonal`` draws (the QR of a
Gaussian matrix, signs fixed by ``diag(R)``; Mezzadri 2007), but a ``vmap`` over it (seeds in
one program) runs one QR after another instead of a single batched QR. jaxlib 0.10's batched
LAPACK kernels split the batch over XLA's CPU thread pool from a thread of that same pool and
block until the pieces finish; when every pool thread is such a kernel (two batched QRs at once
on a 2-core CPU) nothing is left to run the pieces and the program hangs with all threads
idle. A native stack of a hung two-seed pipelined-PPO run showed both pool threads parked in
``ParallelBatchMap`` under ``QrFactorization`` and ``OrthogonalQr``; two 512 × 512 orthogonal
initialisations under ``jit(vmap)`` over two seeds hung in 5 of 5 runs with jax's initialiser
and in none of 7 with this one.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp


@jax.custom_batching.custom_vmap
def _qr(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    q, r = jnp.linalg.qr(a)
    return q, r


@_qr.def_vmap
def _qr_one_at_a_time(axis_size, in_batched, a):
    del axis_size, in_batched  # called only when ``a``, the one argument, is batched
    return jax.lax.map(_qr, a), (True, True)


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
        q, r = _qr(z)
        q = q * jnp.sign(jnp.diagonal(r))[None, :]
        if n_rows < n_cols:
            q = q.T
        axis = column_axis % len(shape)
        q = q.reshape(shape[:axis] + shape[axis + 1:] + (n_cols,))
        return jnp.asarray(scale, dtype) * jnp.moveaxis(q, -1, axis)

    return init


def orthogonal_linear(layer: eqx.nn.Linear, key: jax.Array, scale: float) -> eqx.nn.Linear:
    w = orthogonal(scale)(key, layer.weight.shape, layer.weight.dtype)
    layer = eqx.tree_at(lambda m: m.weight, layer, w)
    if layer.bias is not None:
        layer = eqx.tree_at(lambda m: m.bias, layer, jnp.zeros_like(layer.bias))
    return layer


def linear(in_size: int, out_size: int, key: jax.Array, scale: float = 2**0.5) -> eqx.nn.Linear:
    """``eqx.nn.Linear`` with orthogonal weights of gain ``scale`` and zero bias."""
    k1, k2 = jax.random.split(key)
    return orthogonal_linear(eqx.nn.Linear(in_size, out_size, key=k1), k2, scale)
