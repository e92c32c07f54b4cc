"""The estimated chain of the current policy, ``P_π`` and ``r_π``, with the inverse of its
normalisation system ``A`` (``jaxrl.mdp.stationary``) kept up to date, so that ρ of the policy
and of every one-state deviation cost O(S²) instead of a fresh O(S³) solve.

Changing row ``s`` of ``P_π`` by ``Δ`` changes column ``s`` of ``A`` by ``u = (0, Δ₁, …)``, so
``A⁻¹`` follows by Sherman–Morrison, and the stationary distribution of a deviation is
``d' = d − (A⁻¹u)·d[s] / (1 + (A⁻¹u)[s])`` with ``d = A⁻¹e₀``. The reference code solves each
candidate exactly; this gives the same numbers up to round-off, which ``refresh`` (an exact
inverse, at the start of each training update) and ``polish`` (a Newton–Schulz step, between
them every ``refresh_every`` steps) keep from accumulating.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl import linalg
from jaxrl.mdp.stationary import normalisation_system


class PolicyChain(eqx.Module):
    p: jax.Array  # [S, S] estimated P_π
    r: jax.Array  # [S] estimated r_π
    inv: jax.Array  # [S, S] inverse of the normalisation system of p


def build(p, r) -> PolicyChain:
    return PolicyChain(p, r, linalg.inv(normalisation_system(p)))


def refresh(chain: PolicyChain) -> PolicyChain:
    """The chain with its inverse solved afresh (LU)."""
    return build(chain.p, chain.r)


def polish(chain: PolicyChain) -> PolicyChain:
    """The chain with its inverse ``X`` of ``A`` improved by one Newton–Schulz step,
    ``X ← X (2I − A X)``: two matrix products instead of an LU solve, squaring the relative
    error ``‖I − A X‖`` (which must be below 1: a drifted inverse, not an arbitrary one)."""
    a = normalisation_system(chain.p)
    x = chain.inv
    return PolicyChain(chain.p, chain.r, 2.0 * x - x @ (a @ x))


def stationary(chain: PolicyChain) -> jax.Array:
    return chain.inv[:, 0]


def gain(chain: PolicyChain) -> jax.Array:
    return stationary(chain) @ chain.r


def column_change(chain: PolicyChain, s, rows) -> jax.Array:
    """``u``: the change of column ``s`` of the normalisation system when row ``s`` of ``P_π``
    becomes ``rows`` (``[..., S]``); its first entry is 0 (that row of the system is ones)."""
    return (rows - chain.p[s]).at[..., 0].set(0.0)


def set_row(chain: PolicyChain, s, row, r) -> PolicyChain:
    """Replace row ``s`` of ``P_π`` (and ``r_π[s]``)."""
    bu = chain.inv @ column_change(chain, s, row)
    inv = chain.inv - jnp.outer(bu, chain.inv[s]) / (1.0 + bu[s])
    return PolicyChain(chain.p.at[s].set(row), chain.r.at[s].set(r), inv)


def gains_of(d, r, s, bu, rs) -> jax.Array:
    """ρ of the deviations at ``s`` to rows with solved column changes ``bu[k] = A⁻¹u_k``
    and rewards ``rs[k]``, from the stationary law ``d`` and rewards ``r`` of the chain."""
    dk = d[None] - bu * (d[s] / (1.0 + bu[:, s]))[:, None]
    return dk @ r + dk[:, s] * (rs - r[s])


def deviation_gains(chain: PolicyChain, s, rows, rs) -> jax.Array:
    """ρ of the policies that differ from π only at ``s``, taking row ``rows[k]`` (reward
    ``rs[k]``) there."""
    bu = column_change(chain, s, rows) @ chain.inv.T  # [k, S]: A⁻¹u_k
    return gains_of(stationary(chain), chain.r, s, bu, rs)
