"""Last-action augmentation: append the previous action to the observation.

The observation becomes ``concat(obs, enc(a_prev))`` with ``enc`` the one-hot code of a
``Discrete`` action or the flattened action vector of a ``Box`` action (as the agent chose it,
unclipped), always float32. ``enc`` is zeros after a reset: the first observation of an episode
has no previous action. The wrapper needs no state, since the action of a transition is the
previous action of the observation it returns.

Outside :class:`~envs.wrappers.AutoReset` (recognised by ``"final_observation"`` in the inner
``info``), an episode end (``terminated | truncated``) appends zeros to the returned (reset)
observation, and ``info["final_observation"]`` gets the action that led to it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from envs.core import Transition, Wrapper
from envs.wrappers.flatten import box_bounds


class LastAction(Wrapper):
    """Observation = ``concat(obs, previous action)``; needs a flat (1-D) observation."""

    def __init__(self, env):
        super().__init__(env)
        params = self._env.default_params
        obs_shape = tuple(self._env.observation_space(params).shape)
        if len(obs_shape) != 1:
            raise ValueError(
                f"LastAction needs a 1-D observation, but {self._env.name} observations have "
                f"shape {obs_shape}; wrap the environment in FlattenObservation first"
            )
        space = self._env.action_space(params)
        if isinstance(space, spaces.Discrete):
            self._action_low = np.zeros(space.n, np.float32)
            self._action_high = np.ones(space.n, np.float32)
        elif isinstance(space, spaces.Box):
            low, high = box_bounds(space)
            self._action_low, self._action_high = low.reshape(-1), high.reshape(-1)
        else:
            raise TypeError(
                f"LastAction supports Discrete and Box action spaces, got {type(space).__name__}"
            )
        self._discrete = isinstance(space, spaces.Discrete)
        self.action_dim = self._action_low.size

    def encode(self, action) -> jax.Array:
        """The action's code appended to the observation: one-hot or flattened vector."""
        if self._discrete:
            return jax.nn.one_hot(action, self.action_dim, dtype=jnp.float32).reshape(-1)
        return jnp.reshape(action, (-1,)).astype(jnp.float32)

    @staticmethod
    def _append(obs, code):
        return jnp.concatenate([obs.astype(jnp.float32), code])

    def reset_env(self, key, params):
        obs, state = self._env.reset_env(key, params)
        return self._append(obs, jnp.zeros(self.action_dim, jnp.float32)), state

    def transition(self, key, state, action, params) -> Transition:
        obs, state, reward, terminated, truncated, info = self._env.transition(
            key, state, action, params
        )
        code = self.encode(action)
        if "final_observation" in info:  # an AutoReset inside already reset `obs`
            done = jnp.logical_or(terminated, truncated)
            info = {**info, "final_observation": self._append(info["final_observation"], code)}
            code = jnp.where(done, 0.0, code)
        return self._append(obs, code), state, reward, terminated, truncated, info

    def observation_space(self, params):
        low, high = box_bounds(self._env.observation_space(params))
        low = np.concatenate([low, self._action_low])
        high = np.concatenate([high, self._action_high])
        return spaces.Box(low, high, low.shape, jnp.float32)
