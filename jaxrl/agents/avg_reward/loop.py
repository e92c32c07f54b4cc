"""One training loop for the continuing tabular agents of Riemer et al. (2022): a single
stream of experience (the reference code's), ε-greedy behaviour, one learning step per
environment step, as ``make_train(config) -> TrainProgram``.

An agent is a ``TabularAgent`` of pure functions over its own state. Each ``update`` runs
``log_every`` environment steps in one ``lax.scan``, calling the agent's ``refresh`` (the place
for an exact re-solve) before every block of at most ``refresh_every`` of them; an agent with a
``polish`` (a cheaper correction: the ρ agents' Newton–Schulz step, ``chain.polish``) gets the
refresh before the update's first block only and the polish before the others. It emits,
besides the required ``env_steps``/``episode_return``/``loss``, the sums ``reward`` and
``optimal_reward`` over those steps, from which ``envs.scalable.regret`` computes the paper's
regret.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from jaxrl import config as cfg
from jaxrl.program import TrainProgram
from jaxrl.training_env import training_env


@cfg.config_dataclass
class ContinualConfig:
    """Fields every agent of this package shares."""

    env: str = cfg.static_field("NBottleneck-v0")
    total_timesteps: int = cfg.static_field(10_000)
    log_every: int = cfg.static_field(100)  # env steps per update
    # Env steps between the agent's refreshes (or polishes), at most (the largest common divisor
    # with log_every is used): the ρ agents' Sherman–Morrison updates of their chain's inverse
    # drift in float32, and 5 000 of them between refreshes (off-policy ρ at log_every = 1000)
    # turned the gain non-finite after 2.6·10⁵ steps.
    refresh_every: int = cfg.static_field(100)

    def __post_init__(self):
        import envs.scalable  # noqa: F401  (registers the scalable MDPs)

        cfg.known_env(self)
        cfg.positive(self, "total_timesteps", "log_every", "refresh_every")
        cfg.divides(self, "total_timesteps", "log_every")


class TabularAgent(NamedTuple):
    init: Callable  # (key, num_states, num_actions, hp) -> agent
    act: Callable  # (agent, s, key, hp) -> (action, agent)
    learn: Callable  # (agent, s, a, r, s_next, key, hp) -> (agent, loss)
    policy: Callable  # agent -> policy on observations ([S] actions or [S, A] probabilities)
    refresh: Callable = lambda agent: agent  # exact re-solve, before each update's first block
    polish: Callable | None = None  # cheaper correction before the update's other blocks


class ContinualState(eqx.Module):
    agent: Any
    env_state: Any
    obs: jax.Array
    key: jax.Array
    env_steps: jax.Array
    hp: Any


def epsilon_random(key, action, epsilon, num_actions: int):
    """``(action', explored)``: ``action`` replaced with probability ``epsilon`` by a uniform
    random action."""
    k_e, k_a = jax.random.split(key)
    explored = jax.random.uniform(k_e) < epsilon
    random = jax.random.randint(k_a, (), 0, num_actions)
    return jnp.where(explored, random, action).astype(jnp.int32), explored


def make_continual_train(agent: TabularAgent, config: ContinualConfig, env=None,
                         env_params=None) -> TrainProgram:
    """The ``TrainProgram`` of ``agent`` on ``config.env`` (or on ``env``/``env_params``)."""
    env, env_params = training_env(config.env, env, env_params)
    obs_space = env.observation_space(env_params)
    act_space = env.action_space(env_params)
    name = type(config).__name__
    if not isinstance(obs_space, spaces.Discrete) or not isinstance(act_space, spaces.Discrete):
        cfg.fail(name, "env", config.env, "an environment with Discrete observations and actions")
    num_states, num_actions = int(obs_space.n), int(act_space.n)

    def init(key, hp=config):
        k_env, k_agent, key = jax.random.split(key, 3)
        obs, env_state = env.reset(k_env, env_params)
        return ContinualState(agent.init(k_agent, num_states, num_actions, hp), env_state,
                              jnp.asarray(obs, jnp.int32), key, jnp.zeros((), jnp.int32), hp)

    def env_step(carry, key):
        ag, env_state, obs, hp = carry
        k_act, k_env, k_learn = jax.random.split(key, 3)
        action, ag = agent.act(ag, obs, k_act, hp)
        nxt, env_state, reward, _, _, info = env.step(k_env, env_state, action, env_params)
        nxt = jnp.asarray(nxt, jnp.int32)
        s_next = jnp.asarray(info["final_observation"], jnp.int32)
        ag, loss = agent.learn(ag, obs, action, reward, s_next, k_learn, hp)
        out = (reward, info["optimal_reward"], loss, info["returned_episode"],
               info["returned_episode_return"])
        return (ag, env_state, nxt, hp), out

    block = math.gcd(config.log_every, min(config.refresh_every, config.log_every))

    def refreshed_block(carry, block_keys):
        ag, env_state, obs, hp = carry
        index, keys = block_keys
        if agent.polish is not None:  # the block index is not batched: a real branch
            ag = jax.lax.cond(index == 0, agent.refresh, agent.polish, ag)
        else:
            ag = agent.refresh(ag)
        return jax.lax.scan(env_step, (ag, env_state, obs, hp), keys)

    def update(state: ContinualState):
        key, k_steps = jax.random.split(state.key)
        keys = jax.random.split(k_steps, config.log_every)
        carry = (state.agent, state.env_state, state.obs, state.hp)
        (ag, env_state, obs, hp), outs = jax.lax.scan(  # blocks of ``block`` steps
            refreshed_block, carry, (jnp.arange(config.log_every // block),
                                     keys.reshape(config.log_every // block, block)))
        outs = jax.tree.map(lambda x: x.reshape(config.log_every, *x.shape[2:]), outs)
        rew, opt, loss, done, ret = outs
        env_steps = state.env_steps + config.log_every
        finished = done.sum()
        metrics = {
            "env_steps": env_steps.astype(jnp.float32),
            "episode_return": jnp.where(finished > 0, jnp.where(done, ret, 0.0).sum()
                                        / jnp.maximum(finished, 1), jnp.nan),
            "loss": loss.mean(),
            "reward": rew.sum(),
            "optimal_reward": opt.sum(),
        }
        return ContinualState(ag, env_state, obs, key, env_steps, hp), metrics

    return TrainProgram(init=init, update=update,
                        num_updates=config.total_timesteps // config.log_every,
                        steps_per_update=config.log_every)
