"""Frame stacking: the observation is the last ``k`` observations (Mnih et al., 2015, DQN).

Rule: frames are stacked on a new leading axis, shape ``(k, *obs_shape)``, oldest first
(``obs[-1]`` is the newest). On reset every slot holds the first observation.

The wrapper works on either side of :class:`~envs.wrappers.AutoReset`:

* inside (``AutoReset(FrameStack(env, k))``): it sees the true final observation, and
  AutoReset's call to ``reset_env`` refills the stack;
* outside (``FrameStack(AutoReset(env), k)``, recognised by ``"final_observation"`` in the
  inner ``info``): when ``terminated | truncated`` the returned stack is refilled from the
  reset observation, and ``info["final_observation"]`` becomes the stacked final observation
  (the last ``k - 1`` frames plus the final one), so bootstrapping on truncation still works.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from envs.core import Transition, Wrapper
from envs.wrappers.flatten import box_bounds


@struct.dataclass
class FrameStackState:
    env_state: Any
    frames: jax.Array  # (k, *obs_shape), oldest first


class FrameStack(Wrapper):
    """Observation = the last ``num_frames`` observations, stacked on a new leading axis."""

    def __init__(self, env, num_frames: int):
        super().__init__(env)
        if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)):
            raise ValueError(f"num_frames must be an integer >= 1, got {num_frames!r}")
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self.num_frames = int(num_frames)

    def _fill(self, obs):
        return jnp.repeat(obs[None], self.num_frames, axis=0)

    @staticmethod
    def _push(frames, obs):
        return jnp.concatenate([frames[1:], obs[None]], axis=0)

    def reset_env(self, key, params):
        obs, env_state = self._env.reset_env(key, params)
        frames = self._fill(obs)
        return frames, FrameStackState(env_state, frames)

    def transition(self, key, state, action, params) -> Transition:
        obs, env_state, reward, terminated, truncated, info = self._env.transition(
            key, state.env_state, action, params
        )
        frames = self._push(state.frames, obs)
        if "final_observation" in info:  # an AutoReset inside already reset `obs`
            done = jnp.logical_or(terminated, truncated)
            frames = jnp.where(done, self._fill(obs), frames)
            final = self._push(state.frames, info["final_observation"])
            info = {**info, "final_observation": final}
        return frames, FrameStackState(env_state, frames), reward, terminated, truncated, info

    def observation_space(self, params):
        inner = self._env.observation_space(params)
        low, high = box_bounds(inner)
        shape = (self.num_frames, *low.shape)
        return spaces.Box(
            np.broadcast_to(low, shape), np.broadcast_to(high, shape), shape, inner.dtype
        )
