"""Demonstrations: transitions recorded from a scripted policy, for learners that pretrain on
them before acting (the realtime-RL paper's Tetris DQN starts from 16 000 updates on a human
game, Riemer et al. 2025; DQfD, Hester et al. 2018, is the general recipe).

The policy sees the environment *state*, not the observation: a scripted player may read what
the agent cannot (the piece's gravity counter, a hidden map). Transitions are recorded exactly
as :mod:`jaxrl.agents.dqn` stores its own (``next_obs`` the true final observation at an
episode's end, ``terminated`` alone as the bootstrap mask), so they can share one replay buffer.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

import envs
from jaxrl.replay import Transition


def collect(env, params, policy: Callable, key: jax.Array, num_envs: int,
            num_steps: int) -> Transition:
    """``num_envs × num_steps`` transitions of ``policy(key, state) -> action`` on ``env``
    (auto-reset inside), flattened to a leading axis of ``num_steps · num_envs`` items in
    time-major order. Pure and jittable."""
    if num_envs < 1 or num_steps < 1:
        raise ValueError(f"num_envs={num_envs} and num_steps={num_steps} are invalid: expected "
                         "integers >= 1")
    env = envs.AutoReset(env)
    k_reset, k_run = jax.random.split(key)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k_reset, num_envs),
                                                        params)

    def step(carry, key):
        obs, state = carry
        k_act, k_env = jax.random.split(key)
        action = jax.vmap(policy)(jax.random.split(k_act, num_envs), state)
        next_obs, state, reward, terminated, _, info = jax.vmap(
            env.step, in_axes=(0, 0, 0, None))(jax.random.split(k_env, num_envs), state, action,
                                               params)
        item = Transition(obs, action.astype(jnp.int32), reward.astype(jnp.float32),
                          info["final_observation"].astype(obs.dtype),
                          terminated.astype(jnp.float32))
        return (next_obs.astype(obs.dtype), state), item

    _, items = jax.lax.scan(step, (obs, state), jax.random.split(k_run, num_steps))
    return jax.tree.map(lambda x: x.reshape(num_steps * num_envs, *x.shape[2:]), items)
