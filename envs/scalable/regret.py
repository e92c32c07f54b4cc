"""The paper's regret (Riemer et al. 2022, reference ``tabular_expts.py``): after T steps,
``Σ_t optimal_reward_t − Σ_t reward_t``, where ``optimal_reward_t`` (the environments'
``info["optimal_reward"]``) is 1 / Manhattan distance from where the current task began to its
goal; per-step regret divides by T.
"""

from __future__ import annotations

import jax.numpy as jnp


def cumulative_regret(optimal_rewards, rewards, axis: int = 0):
    """Regret after each step along ``axis``."""
    return jnp.cumsum(jnp.asarray(optimal_rewards) - jnp.asarray(rewards), axis=axis)


def per_step_regret(optimal_rewards, rewards, axis: int = 0):
    """Regret after each step divided by the number of steps so far."""
    regret = cumulative_regret(optimal_rewards, rewards, axis)
    shape = [1] * regret.ndim
    shape[axis] = regret.shape[axis]
    steps = jnp.arange(1, regret.shape[axis] + 1).reshape(shape)
    return regret / steps
