"""History augmentation (Anokhin et al., ICLR 2025): the observation is extended with the last
``num_obs - 1`` observations and the last ``num_actions`` actions, so that a delayed network's
input carries the actions taken since the observation it acts on (making the state Markov again).

Layout, oldest first:

* 1-D observations: ``concat(o_{t-k+1}, …, o_t, enc(a_{t-m}), …, enc(a_{t-1}))``;
* image observations ``(H, W, C)``: the ``k`` frames stacked on the channel axis, then every
  action code as constant planes (``m · A`` extra channels).

``enc`` is one-hot for ``Discrete`` actions and the flattened action for ``Box`` actions, float32.
After a reset the window holds the first observation ``k`` times and zero action codes (as
:class:`~envs.wrappers.FrameStack` does). ``num_obs = 1, num_actions = 0`` returns the observation
unchanged (as float32). Works inside or outside :class:`~envs.wrappers.AutoReset` (outside, a
finished episode refills the window from the reset observation, and
``info["final_observation"]`` is the augmented final observation).
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
class HistoryState:
    env_state: Any
    frames: jax.Array  # (num_obs, *obs_shape), oldest first
    actions: jax.Array  # (num_actions, action_dim) codes, oldest first


class History(Wrapper):
    """Observation = the last ``num_obs`` observations and the last ``num_actions`` actions."""

    def __init__(self, env, num_obs: int = 1, num_actions: int = 0):
        super().__init__(env)
        for name, value, low in (("num_obs", num_obs, 1), ("num_actions", num_actions, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name}={value!r} is invalid: expected an integer >= {low}")
        params = self._env.default_params
        self.obs_shape = tuple(self._env.observation_space(params).shape)
        if len(self.obs_shape) not in (1, 3):
            raise ValueError(f"History needs 1-D or (H, W, C) observations, got shape "
                             f"{self.obs_shape}")
        space = self._env.action_space(params)
        if isinstance(space, spaces.Discrete):
            self._discrete, self.action_dim = True, int(space.n)
            self._code_bounds = (0.0, 1.0)
        elif isinstance(space, spaces.Box):
            self._discrete, self.action_dim = False, int(np.prod(space.shape))
            low, high = box_bounds(space)
            self._code_bounds = (float(low.min()), float(high.max()))
        else:
            raise TypeError(f"History supports Discrete and Box actions, got "
                            f"{type(space).__name__}")
        self.obs_window, self.action_window = int(num_obs), int(num_actions)

    def encode(self, action) -> jax.Array:
        if self._discrete:
            return jax.nn.one_hot(action, self.action_dim, dtype=jnp.float32)
        return jnp.reshape(action, (-1,)).astype(jnp.float32)

    def _observe(self, frames, actions):
        frames = frames.astype(jnp.float32)
        if len(self.obs_shape) == 1:
            return jnp.concatenate([frames.reshape(-1), actions.reshape(-1)])
        h, w, _ = self.obs_shape
        stacked = jnp.moveaxis(frames, 0, -2).reshape(h, w, -1)  # (H, W, k·C), oldest first
        planes = jnp.broadcast_to(actions.reshape(-1), (h, w, actions.size))
        return jnp.concatenate([stacked, planes], -1)

    def _fresh(self, obs):
        return (jnp.repeat(obs[None], self.obs_window, axis=0),
                jnp.zeros((self.action_window, self.action_dim), jnp.float32))

    @staticmethod
    def _push(window, item):
        return jnp.concatenate([window[1:], item[None]], axis=0)

    def reset_env(self, key, params):
        obs, env_state = self._env.reset_env(key, params)
        frames, actions = self._fresh(obs)
        return self._observe(frames, actions), HistoryState(env_state, frames, actions)

    def transition(self, key, state, action, params) -> Transition:
        obs, env_state, reward, terminated, truncated, info = self._env.transition(
            key, state.env_state, action, params)
        code = self.encode(action)
        frames, actions = self._push(state.frames, obs), self._push(state.actions, code)
        if "final_observation" in info:  # an AutoReset inside already reset `obs`
            done = jnp.logical_or(terminated, truncated)
            final = self._observe(self._push(state.frames, info["final_observation"]), actions)
            info = {**info, "final_observation": final}
            fresh = self._fresh(obs)
            frames = jnp.where(done, fresh[0], frames)
            actions = jnp.where(done, fresh[1], actions)
        new = HistoryState(env_state, frames, actions)
        return self._observe(frames, actions), new, reward, terminated, truncated, info

    def observation_space(self, params):
        low, high = box_bounds(self._env.observation_space(params))
        frames_low = np.repeat(low[None], self.obs_window, 0)
        frames_high = np.repeat(high[None], self.obs_window, 0)
        codes = np.ones((self.action_window, self.action_dim), np.float32)
        lo, hi = self._code_bounds
        low = np.asarray(self._observe(jnp.asarray(frames_low), jnp.asarray(codes * lo)))
        high = np.asarray(self._observe(jnp.asarray(frames_high), jnp.asarray(codes * hi)))
        return spaces.Box(low, high, low.shape, jnp.float32)
