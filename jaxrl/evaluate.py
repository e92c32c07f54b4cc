"""Play fresh episodes with a trained actor-critic (the ``jaxrl.networks.actor_critic``
interface, feed-forward or recurrent) and report each episode's return."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import envs
from jaxrl.distributions import make_distribution
from jaxrl.networks.build import action_sizes


def policy_returns(policy, env, params, key: jax.Array, num_episodes: int, max_steps: int,
                   deterministic: bool = True,
                   sum_info: tuple[str, ...] = ()) -> tuple[jax.Array, dict]:
    """Returns of the first episode of each of ``num_episodes`` parallel environments run for
    ``max_steps`` steps (NaN where none finished), and per episode the sums of the ``info``
    entries named in ``sum_info``. ``deterministic`` plays the distribution's mode."""
    sizes = action_sizes(env.action_space(params))
    env = envs.EpisodeStats(envs.AutoReset(env))
    k_reset, k_run = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(k_reset, num_episodes), params)
    pstate = jax.vmap(lambda _: policy.initial_state())(jnp.arange(num_episodes))
    reset = jnp.ones((num_episodes,), bool)

    def act(key, pstate, obs, reset):
        pstate, dist_out, _ = jax.vmap(policy)(pstate, obs, reset)
        dist = make_distribution(dist_out, policy.log_std, sizes)
        action = dist.mode() if deterministic else dist.sample(key)
        return pstate, action

    def step(carry, key):
        obs, env_state, pstate, reset, returns, sums = carry
        k_act, k_env = jax.random.split(key)
        pstate, action = act(k_act, pstate, obs, reset)
        obs, env_state, _, terminated, truncated, info = jax.vmap(
            env.step, in_axes=(0, 0, 0, None))(jax.random.split(k_env, num_episodes),
                                               env_state, action, params)
        running = jnp.isnan(returns)
        sums = {k: v + jnp.where(running, info[k], 0) for k, v in sums.items()}
        first = info["returned_episode"] & running
        returns = jnp.where(first, info["returned_episode_return"], returns)
        return (obs, env_state, pstate, terminated | truncated, returns, sums), None

    returns = jnp.full((num_episodes,), jnp.nan, jnp.float32)
    sums = {k: jnp.zeros((num_episodes,), jnp.float32) for k in sum_info}
    carry = (obs, env_state, pstate, reset, returns, sums)
    carry, _ = jax.lax.scan(step, carry, jax.random.split(k_run, max_steps))
    return carry[4], carry[5]
