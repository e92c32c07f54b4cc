"""The return of a uniformly random policy: the floor every learning curve is compared with."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import envs


def random_policy_return(env, params, key: jax.Array, num_envs: int = 64,
                         num_steps: int = 2000) -> jax.Array:
    """Mean return of the episodes a random policy finishes in ``num_envs × num_steps`` steps
    (NaN when none finishes)."""
    env = envs.EpisodeStats(envs.AutoReset(env))
    space = env.action_space(params)
    k_reset, k_run = jax.random.split(key)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k_reset, num_envs),
                                                        params)

    def step(carry, key):
        state, total, count = carry
        k_act, k_env = jax.random.split(key)
        actions = jax.vmap(space.sample)(jax.random.split(k_act, num_envs))
        _, state, _, _, _, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(k_env, num_envs), state, actions, params)
        done = info["returned_episode"]
        total = total + jnp.where(done, info["returned_episode_return"], 0.0).sum()
        return (state, total, count + done.sum()), None

    (_, total, count), _ = jax.lax.scan(step, (state, 0.0, 0), jax.random.split(k_run, num_steps))
    return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)
