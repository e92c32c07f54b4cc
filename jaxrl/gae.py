"""Generalised advantage estimation (Schulman et al. 2016, eq. 11–16) with truncation.

Time-major arrays ``[T, ...]``. ``next_values[t]`` is the value used to bootstrap after step
``t``: ``V(s_{t+1})`` inside an episode, ``V(final observation)`` when the episode was truncated
and ``0`` when it terminated. ``continues[t] = 0`` where step ``t`` ended an episode (either way),
so the λ-recursion never crosses an episode boundary while truncated episodes still bootstrap.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def bootstrap_values(values, last_value, final_values, terminated, truncated):
    """``next_values`` for :func:`gae` from rollout values ``[T, B]`` and ``V(s_T)``."""
    following = jnp.concatenate([values[1:], last_value[None]], axis=0)
    return jnp.where(terminated, 0.0, jnp.where(truncated, final_values, following))


def gae(rewards, values, next_values, continues, gamma, lam):
    """Return ``(advantages, returns)``, each shaped like ``rewards``."""
    deltas = rewards + gamma * next_values - values

    def backward(carry, x):
        delta, cont = x
        adv = delta + gamma * lam * cont * carry
        return adv, adv

    _, adv = jax.lax.scan(
        backward, jnp.zeros_like(deltas[0]), (deltas, continues.astype(deltas.dtype)),
        reverse=True,
    )
    return adv, adv + values
