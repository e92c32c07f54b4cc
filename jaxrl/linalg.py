"""Dense linear algebra whose ``vmap`` runs one LAPACK call after another.

jaxlib 0.10's batched LAPACK kernels on a CPU (QR, LU) split their batch over XLA's thread pool
from a thread of that same pool and block until the pieces finish; when every pool thread is in
such a kernel, nothing is left to run the pieces and the program hangs with all threads idle
(a native stack of a hung run showed both threads of a 2-core machine parked in jaxlib's
``ParallelBatchMap``). Seeds (or policies) in one program are a ``vmap``, so every dense solve
in a vmapped agent meets this. Here the batched forms are ``lax.map`` loops over single
(unbatched) calls on a CPU, which never enter that path; values equal ``jnp.linalg``'s. On
other platforms (``lax.platform_dependent``) they stay jaxlib's batched kernels: a loop of tiny
solves there is one kernel launch after another, inside every step of an agent's scan.

- :func:`qr`: ``jnp.linalg.qr`` (reduced); no derivative (used to draw initial weights).
- :func:`solve`, :func:`inv`: ``jnp.linalg.solve`` / ``inv`` for square systems, with forward-
  and reverse-mode derivatives of any order (``lax.custom_linear_solve``, as ``jnp.linalg``
  itself does; the LU is recomputed per solve instead of being shared with the derivative).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def _broadcast(x, batched: bool, size: int):
    return x if batched else jnp.broadcast_to(x, (size, *x.shape))


@jax.custom_batching.custom_vmap
def qr(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``jnp.linalg.qr(a)`` of one matrix; a ``vmap`` over it loops over single QRs."""
    q, r = jnp.linalg.qr(a)
    return q, r


@qr.def_vmap
def _qr_one_at_a_time(axis_size, in_batched, a):
    del axis_size, in_batched  # called only when ``a``, the one argument, is batched
    return lax.platform_dependent(a, cpu=lambda a: lax.map(qr, a),
                                  default=lambda a: tuple(jax.vmap(jnp.linalg.qr)(a))), (True, True)


@jax.custom_batching.custom_vmap
def _lu_solve(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.linalg.solve(a, b)


@_lu_solve.def_vmap
def _lu_solve_one_at_a_time(axis_size, in_batched, a, b):
    a = _broadcast(a, in_batched[0], axis_size)
    b = _broadcast(b, in_batched[1], axis_size)
    return lax.platform_dependent(a, b, cpu=lambda a, b: lax.map(lambda ab: _lu_solve(*ab), (a, b)),
                                  default=jax.vmap(jnp.linalg.solve)), True


def solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """``jnp.linalg.solve(a, b)`` for one square ``a`` ([n, n]) and ``b`` of shape [n] or [n, k];
    differentiable in both, and a ``vmap`` over it loops over single LU solves."""
    if a.ndim != 2 or a.shape[0] != a.shape[1] or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"solve: expected a square [n, n] matrix and a right-hand side [n] or "
                         f"[n, k], got {a.shape} and {b.shape}")
    return lax.custom_linear_solve(lambda x: a @ x, b,
                                   solve=lambda _, rhs: _lu_solve(a, rhs),
                                   transpose_solve=lambda _, rhs: _lu_solve(a.T, rhs))


def inv(a: jax.Array) -> jax.Array:
    """``jnp.linalg.inv(a)`` of one square matrix, through :func:`solve`."""
    return solve(a, jnp.eye(a.shape[-1], dtype=a.dtype))
