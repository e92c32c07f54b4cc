"""Returns of policy-free baselines: uniformly random actions (the floor every learning curve is
compared with) and a constant no-op action (the realtime-RL default action)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import envs

BASELINES = ("random", "noop")


def random_policy_return(env, params, key: jax.Array, num_envs: int = 64,
                         num_steps: int = 2000) -> jax.Array:
    """Mean return of the episodes a random policy finishes in ``num_envs × num_steps`` steps
    (NaN when none finishes)."""
    return baseline_return(env, params, key, "random", num_envs, num_steps)


def baseline_return(env, params, key: jax.Array, policy: str = "random", num_envs: int = 64,
                    num_steps: int = 2000, noop_action=0) -> jax.Array:
    """Mean return of the episodes that ``policy`` finishes in ``num_envs × num_steps`` steps
    (NaN when none finishes): ``"random"`` samples the action space, ``"noop"`` always plays
    ``noop_action``."""
    if policy not in BASELINES:
        raise ValueError(f"policy={policy!r} is invalid: expected one of {BASELINES}")
    env = envs.EpisodeStats(envs.AutoReset(env))
    space = env.action_space(params)
    k_reset, k_run = jax.random.split(key)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k_reset, num_envs),
                                                        params)

    def step(carry, key):
        state, total, count = carry
        k_act, k_env = jax.random.split(key)
        actions = jax.vmap(space.sample)(jax.random.split(k_act, num_envs))
        if policy == "noop":
            actions = jnp.full_like(actions, noop_action)
        _, state, _, _, _, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(k_env, num_envs), state, actions, params)
        done = info["returned_episode"]
        total = total + jnp.where(done, info["returned_episode_return"], 0.0).sum()
        return (state, total, count + done.sum()), None

    (_, total, count), _ = jax.lax.scan(step, (state, 0.0, 0), jax.random.split(k_run, num_steps))
    return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)
