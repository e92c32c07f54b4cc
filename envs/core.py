"""The single-agent environment contract of the project (gymnax 1.0 API, no baked-in reset).

gymnax's ``Environment.step`` resets finished episodes by itself. Here resetting is the job of
one wrapper (:class:`envs.wrappers.AutoReset`), so every other wrapper sees the true transition
and truncation stays visible. The public methods keep gymnax's signatures:

* ``reset(key, params) -> (obs, state)``
* ``step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)``

Subclasses implement ``reset_env`` and either ``step_env`` (gymnax style, with truncation from
``is_truncated``) or ``transition`` (the full six-tuple, used by wrappers).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
from gymnax.environments import environment as gymnax_environment

Transition = tuple[Any, Any, jax.Array, jax.Array, jax.Array, dict]


class Environment(gymnax_environment.Environment):
    """A gymnax environment whose ``step`` does not reset finished episodes."""

    @partial(jax.jit, static_argnames=("self",))
    def step(self, key, state, action, params=None) -> Transition:
        if params is None:
            params = self.default_params
        return self.transition(key, state, action, params)

    @partial(jax.jit, static_argnames=("self",))
    def reset(self, key, params=None):
        if params is None:
            params = self.default_params
        return self.reset_env(key, params)

    def transition(self, key, state, action, params) -> Transition:
        """One environment step without reset: the six-tuple of the gymnax 1.0 API."""
        obs, state, reward, terminated, info = self.step_env(key, state, action, params)
        truncated = self.is_truncated(state, params)
        return obs, state, reward, terminated, truncated, info


class GymnaxEnv(Environment):
    """Adapter that exposes any gymnax environment without its built-in auto-reset."""

    def __init__(self, env: gymnax_environment.Environment):
        self._env = env

    @property
    def unwrapped(self):
        return self._env

    @property
    def default_params(self):
        return self._env.default_params

    def reset_env(self, key, params):
        return self._env.reset_env(key, params)

    def step_env(self, key, state, action, params):
        return self._env.step_env(key, state, action, params)

    def is_truncated(self, state, params):
        return self._env.is_truncated(state, params)

    @property
    def name(self) -> str:
        return self._env.name

    @property
    def num_actions(self) -> int:
        return self._env.num_actions

    def action_space(self, params=None):
        return self._env.action_space(params)

    def observation_space(self, params):
        return self._env.observation_space(params)

    def state_space(self, params):
        return self._env.state_space(params)


def as_environment(env) -> Environment:
    """Return ``env`` as a project environment, adapting a plain gymnax one."""
    if isinstance(env, Environment):
        return env
    if isinstance(env, gymnax_environment.Environment):
        return GymnaxEnv(env)
    raise TypeError(f"expected a gymnax or envs.Environment, got {type(env).__name__}")


class Wrapper(Environment):
    """An environment that wraps another; by default it changes nothing.

    Subclasses override ``reset_env`` and ``transition`` (and the spaces they change). Wrapper
    state, when a wrapper needs any, is a ``flax.struct`` dataclass holding the inner state.
    """

    def __init__(self, env):
        self._env = as_environment(env)

    @property
    def inner(self) -> Environment:
        return self._env

    @property
    def unwrapped(self):
        return getattr(self._env, "unwrapped", self._env)

    @property
    def default_params(self):
        return self._env.default_params

    def reset_env(self, key, params):
        return self._env.reset_env(key, params)

    def transition(self, key, state, action, params) -> Transition:
        return self._env.transition(key, state, action, params)

    @property
    def name(self) -> str:
        return self._env.name

    @property
    def num_actions(self) -> int:
        return self._env.num_actions

    def action_space(self, params=None):
        return self._env.action_space(params)

    def observation_space(self, params):
        return self._env.observation_space(params)

    def state_space(self, params):
        return self._env.state_space(params)
