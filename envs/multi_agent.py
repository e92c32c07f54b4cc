"""The multi-agent environment contract: one dict entry per agent, in the style of JaxMARL.

JaxMARL (Rutherford et al., 2024) gives every agent a name in ``env.agents`` and passes
observations, actions, rewards and dones as dicts keyed by those names, with
``dones["__all__"]`` marking the end of the episode. As for the single-agent
:class:`envs.core.Environment`, ``step`` does *not* reset: :class:`MultiAgentAutoReset` does.

* ``reset(key, params) -> (obs, state)``
* ``step(key, state, actions, params) -> (obs, state, rewards, dones, info)``

Subclasses implement ``reset_env`` and ``step_env(key, state, actions, params) -> (obs, state,
rewards, terminated, info)`` with ``terminated`` a per-agent dict (``"__all__"`` optional:
by default the episode ends when every agent is done). ``transition`` adds the time limit
(``is_truncated``, by default ``state.time >= params.max_steps_in_episode``):
``dones[agent] = terminated[agent] | truncated``, and ``info["truncated"]`` keeps the
truncation visible for bootstrapping. Where JaxMARL's ``observation_space(agent)`` takes the
agent only, here the params are explicit: ``observation_space(agent, params)``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

MultiAgentTransition = tuple[dict, Any, dict, dict, dict]


class MultiAgentEnv:
    """Base class of multi-agent environments; subclasses set ``self.agents`` in ``__init__``."""

    agents: list[str]

    @property
    def num_agents(self) -> int:
        return len(self.agents)

    @property
    def default_params(self):
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    @partial(jax.jit, static_argnames=("self",))
    def reset(self, key, params=None) -> tuple[dict, Any]:
        if params is None:
            params = self.default_params
        return self.reset_env(key, params)

    @partial(jax.jit, static_argnames=("self",))
    def step(self, key, state, actions: dict, params=None) -> MultiAgentTransition:
        if params is None:
            params = self.default_params
        return self.transition(key, state, actions, params)

    def transition(self, key, state, actions, params) -> MultiAgentTransition:
        """One step without reset: ``(obs, state, rewards, dones, info)``."""
        obs, state, rewards, terminated, info = self.step_env(key, state, actions, params)
        truncated = jnp.asarray(self.is_truncated(state, params))
        dones = {a: jnp.logical_or(terminated[a], truncated) for a in self.agents}
        if "__all__" in terminated:
            episode_over = terminated["__all__"]
        else:
            episode_over = jnp.all(jnp.stack([jnp.asarray(terminated[a]) for a in self.agents]))
        dones["__all__"] = jnp.logical_or(episode_over, truncated)
        return obs, state, rewards, dones, {**info, "truncated": truncated}

    def reset_env(self, key, params) -> tuple[dict, Any]:
        raise NotImplementedError

    def step_env(self, key, state, actions, params) -> tuple[dict, Any, dict, dict, dict]:
        raise NotImplementedError

    def is_truncated(self, state, params) -> jax.Array:
        return state.time >= params.max_steps_in_episode

    def observation_space(self, agent: str, params=None):
        raise NotImplementedError

    def action_space(self, agent: str, params=None):
        raise NotImplementedError


class MultiAgentWrapper(MultiAgentEnv):
    """A multi-agent environment that wraps another; by default it changes nothing."""

    def __init__(self, env: MultiAgentEnv):
        if not isinstance(env, MultiAgentEnv):
            raise TypeError(f"expected a MultiAgentEnv, got {type(env).__name__}")
        self._env = env
        self.agents = list(env.agents)

    @property
    def inner(self) -> MultiAgentEnv:
        return self._env

    @property
    def default_params(self):
        return self._env.default_params

    @property
    def name(self) -> str:
        return self._env.name

    def reset_env(self, key, params):
        return self._env.reset_env(key, params)

    def transition(self, key, state, actions, params) -> MultiAgentTransition:
        return self._env.transition(key, state, actions, params)

    def observation_space(self, agent, params=None):
        return self._env.observation_space(agent, params)

    def action_space(self, agent, params=None):
        return self._env.action_space(agent, params)


class MultiAgentAutoReset(MultiAgentWrapper):
    """Reset when ``dones["__all__"]``; ``info["final_observation"]`` keeps the last obs dict.

    The key is split as :class:`envs.wrappers.AutoReset` (and gymnax) split it.
    """

    def transition(self, key, state, actions, params) -> MultiAgentTransition:
        key_step, key_reset = jax.random.split(key)
        obs_st, state_st, rewards, dones, info = self._env.transition(
            key_step, state, actions, params
        )
        obs_re, state_re = self._env.reset_env(key_reset, params)
        done = dones["__all__"]
        select = partial(jax.tree.map, lambda x, y: jax.lax.select(done, x, y))
        info = {**info, "final_observation": obs_st}
        return select(obs_re, obs_st), select(state_re, state_st), rewards, dones, info
