"""Stationary distributions of a finite Markov chain ``P[s, s']`` (rows sum to 1).

``stationary_distribution`` is the reference code's exact solve: of ``(P_πᵀ − I) d = 0`` the
first equation is replaced by ``Σ d = 1`` (unique for a unichain ``P``). ``power_iteration``
refines a warm start ``d₀`` by synchronous sweeps ``d ← d P`` (renormalised).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl import linalg


def normalisation_system(p) -> jax.Array:
    """The matrix ``A`` of ``A d = e₀``: ``(P − I)ᵀ`` with its first row set to ones."""
    n = p.shape[0]
    return (p - jnp.eye(n, dtype=p.dtype)).T.at[0].set(1.0)


def stationary_distribution(p) -> jax.Array:
    """The ``d`` with ``d P = d`` and ``Σ d = 1``."""
    n = p.shape[0]
    return linalg.solve(normalisation_system(p), jnp.zeros(n, p.dtype).at[0].set(1.0))


def power_iteration(p, d0, sweeps: int) -> jax.Array:
    """``sweeps`` synchronous power-iteration steps from ``d0``."""
    def sweep(d, _):
        d = d @ p
        return d / d.sum(), None

    return jax.lax.scan(sweep, d0, None, length=sweeps)[0]
