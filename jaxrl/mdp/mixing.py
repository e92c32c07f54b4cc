"""ε-mixing time of a Markov chain (Levin & Peres 2017, §4.5):
``t_mix(ε) = min {t : max_s TV(Pᵗ(s, ·), d) ≤ ε}``, with ``d`` the stationary distribution.

Because ``max_s TV(Pᵗ(s, ·), d)`` never increases with ``t``, the time is found by binary
lifting over the powers ``P^(2^k)`` (``2·max_log2`` matrix products instead of ``t``):
``t_mix`` is exact up to ``2^max_log2 − 1``, and ``inf`` when the chain has not mixed by then.
Rows of the powers are renormalised after each squaring (float32 drift). Default ε = 1/4, the
usual convention; the paper does not fix one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.mdp.policy import transition_matrix
from jaxrl.mdp.stationary import stationary_distribution


def distance_to_stationary(pt, d) -> jax.Array:
    """``max_s TV(pt[s], d)`` for a matrix of distributions ``pt``."""
    return 0.5 * jnp.abs(pt - d[None]).sum(-1).max()


def mixing_time(p, eps: float = 0.25, max_log2: int = 20) -> jax.Array:
    """``t_mix(eps)`` of the chain ``P`` (float32; ``inf`` beyond ``2^max_log2 − 1``)."""
    d = stationary_distribution(p)
    n = p.shape[0]

    def square(q, _):
        nxt = q @ q
        return nxt / nxt.sum(-1, keepdims=True), q

    _, powers = jax.lax.scan(square, p, None, length=max_log2)  # powers[k] = P^(2^k)

    def lift(carry, k):
        m, t = carry
        cand = m @ powers[k]
        cand = cand / cand.sum(-1, keepdims=True)
        far = distance_to_stationary(cand, d) > eps
        return (jnp.where(far, cand, m), jnp.where(far, t + 2**k, t)), None

    ks = jnp.arange(max_log2 - 1, -1, -1)
    (_, t), _ = jax.lax.scan(lift, (jnp.eye(n, dtype=p.dtype), jnp.int32(0)), ks)
    t_mix = (t + 1).astype(jnp.float32)
    t_mix = jnp.where(distance_to_stationary(jnp.eye(n, dtype=p.dtype), d) <= eps, 0.0, t_mix)
    return jnp.where(t >= 2**max_log2 - 1, jnp.inf, t_mix)


def policy_mixing_time(p_sa, policy, eps: float = 0.25, max_log2: int = 20) -> jax.Array:
    """``t_mix(eps)`` of the chain ``P_π`` induced by ``policy`` on ``P[s, a, s']``."""
    return mixing_time(transition_matrix(p_sa, policy), eps, max_log2)


policy_mixing_times = jax.vmap(policy_mixing_time, in_axes=(None, 0, None, None))
"""``t_mix`` of a batch of policies (leading axis) on one MDP."""
