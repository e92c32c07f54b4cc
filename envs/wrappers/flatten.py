"""Flatten observations to one float32 vector (for MLP agents on image-shaped observations)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from envs.core import Transition, Wrapper


def box_bounds(space) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` of a ``Box`` or ``Discrete`` space, broadcast to the space's shape.

    A ``Discrete(n)`` observation space is the integer box ``[0, n - 1]`` of shape ``()``.
    """
    if isinstance(space, spaces.Discrete):
        return np.zeros((), np.float32), np.full((), space.n - 1, np.float32)
    if isinstance(space, spaces.Box):
        shape = tuple(space.shape)
        low = np.broadcast_to(np.asarray(space.low, np.float32), shape)
        high = np.broadcast_to(np.asarray(space.high, np.float32), shape)
        return low, high
    raise TypeError(
        f"expected a Box or Discrete observation space, got {type(space).__name__}"
    )


def _flatten(obs):
    return jnp.reshape(obs, (-1,)).astype(jnp.float32)


class FlattenObservation(Wrapper):
    """Observation -> ``obs.reshape(-1).astype(float32)``; ``info["final_observation"]`` too."""

    def reset_env(self, key, params):
        obs, state = self._env.reset_env(key, params)
        return _flatten(obs), state

    def transition(self, key, state, action, params) -> Transition:
        obs, state, reward, terminated, truncated, info = self._env.transition(
            key, state, action, params
        )
        if "final_observation" in info:
            info = {**info, "final_observation": _flatten(info["final_observation"])}
        return _flatten(obs), state, reward, terminated, truncated, info

    def observation_space(self, params):
        low, high = box_bounds(self._env.observation_space(params))
        return spaces.Box(low.reshape(-1), high.reshape(-1), (low.size,), jnp.float32)
