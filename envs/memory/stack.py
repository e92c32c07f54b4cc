"""Adaptive Stacking (Nangue Tasse et al., 2025): the agent chooses which memory to forget.

The stack holds ``κ`` observations, oldest first; the newest observation is always in the last
slot. Each step the agent emits an environment action and a memory action ``i ∈ {0..κ−1}``;
when ``x_{t+1}`` arrives the stack becomes ``push(pop(s_t, i), x_{t+1})`` (spec §Mechanism).
Popping ``κ−1`` discards the current observation; popping 0 always is frame stacking. The
initial stack is ``κ−1`` zero frames, then the first observation (as in the reference code).

Action encodings of a ``Discrete(n)`` environment:

* ``"flat"``: one ``Discrete(n·κ)`` head; environment action ``a mod n``, memory ``a div n``;
* ``"multi"``: two heads, the action is an int array ``[env_action, memory_action]``.

With a ``relevant(obs) -> bool`` predicate (e.g. :func:`envs.memory.tmaze.is_cue`) the wrapper
also reports memory metrics in ``info`` for steps that do not end the episode:
``memory_regret`` (a relevant observation has been seen this episode but none is in the new
stack), ``memory_dropped`` (one was held as a memory, in an older slot than the newest, and is
no longer) and ``memory_not_kept`` (the newest
observation was relevant and seen for the first time, and the memory action discarded it).
Choice where the paper is silent: before any relevant observation has been seen (active
T-maze), missing it from the stack is not regret.

Works inside or outside :class:`envs.wrappers.AutoReset`, like :class:`envs.wrappers.FrameStack`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from envs.core import Transition, Wrapper
from envs.wrappers.flatten import box_bounds

ENCODINGS = ("flat", "multi")


def initial_stack(obs: jax.Array, num_stack: int) -> jax.Array:
    """``κ−1`` zero frames, then ``obs``: shape ``(κ, *obs.shape)``."""
    zeros = jnp.zeros((num_stack - 1, *obs.shape), obs.dtype)
    return jnp.concatenate([zeros, obs[None]], axis=0)


def pop_push(frames: jax.Array, index: jax.Array, obs: jax.Array) -> jax.Array:
    """``push(pop(frames, index), obs)``: drop slot ``index``, shift the later slots down and
    put ``obs`` last."""
    k = frames.shape[0]
    slots = jnp.arange(k - 1)
    keep = jnp.where(slots < index, slots, slots + 1)
    return jnp.concatenate([frames[keep], obs[None].astype(frames.dtype)], axis=0)


def check_num_stack(num_stack) -> int:
    if isinstance(num_stack, bool) or not isinstance(num_stack, (int, np.integer)) or num_stack < 1:
        raise ValueError(f"num_stack must be an integer >= 1, got {num_stack!r}")
    return int(num_stack)


@struct.dataclass
class AdaptiveStackState:
    env_state: Any
    frames: jax.Array  # (κ, *obs_shape), oldest first
    seen: jax.Array  # a relevant observation has been seen this episode


class AdaptiveStack(Wrapper):
    """Observation = a stack of ``num_stack`` observations that the agent's memory action edits."""

    def __init__(self, env, num_stack: int, encoding: str = "flat",
                 relevant: Callable[[jax.Array], jax.Array] | None = None):
        super().__init__(env)
        self.num_stack = check_num_stack(num_stack)
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        self.encoding = encoding
        self.relevant = relevant
        space = self._env.action_space(self._env.default_params)
        if not isinstance(space, spaces.Discrete):
            raise TypeError("AdaptiveStack needs a Discrete action space, got "
                             f"{type(space).__name__}")
        self.env_actions = int(space.n)

    def _identity(self):
        return (type(self), self._env, self.num_stack, self.encoding, self.relevant)

    def __eq__(self, other):  # equal wrappers share compiled code
        return isinstance(other, AdaptiveStack) and self._identity() == other._identity()

    def __hash__(self):
        return hash(self._identity())

    def split_action(self, action) -> tuple[jax.Array, jax.Array]:
        """``(env_action, memory_action)`` of an action in this wrapper's encoding."""
        action = jnp.asarray(action, jnp.int32)
        if self.encoding == "flat":
            return action % self.env_actions, action // self.env_actions
        return action[..., 0], action[..., 1]

    def _relevant_seen(self, obs):
        if self.relevant is None:
            return jnp.zeros((), bool)
        return jnp.asarray(self.relevant(obs), bool)

    def _held(self, frames):
        if self.relevant is None:
            return jnp.zeros((), bool)
        return jnp.any(jnp.asarray(self.relevant(frames), bool))

    def reset_env(self, key, params):
        obs, env_state = self._env.reset_env(key, params)
        frames = initial_stack(obs, self.num_stack)
        return frames, AdaptiveStackState(env_state, frames, self._relevant_seen(obs))

    def transition(self, key, state, action, params) -> Transition:
        env_action, memory_action = self.split_action(action)
        obs, env_state, reward, terminated, truncated, info = self._env.transition(
            key, state.env_state, env_action, params)
        autoreset = "final_observation" in info
        next_obs = info["final_observation"] if autoreset else obs
        pushed = pop_push(state.frames, memory_action, next_obs)
        info = {**info, "memory_action": memory_action}
        if self.relevant is not None:
            newest_first = self._relevant_seen(state.frames[-1])
            held_after = self._held(pushed)
            seen = state.seen | self._relevant_seen(next_obs)
            # ``newest_first``: the newest slot is relevant and no older slot held one
            first_seen = newest_first & ~self._held(state.frames[:-1])
            live = ~terminated
            info["memory_regret"] = live & seen & ~held_after
            info["memory_dropped"] = live & self._held(state.frames[:-1]) & ~held_after
            info["memory_not_kept"] = live & first_seen & ~held_after
        else:
            seen = state.seen
        frames = pushed
        if autoreset:
            done = jnp.logical_or(terminated, truncated)
            frames = jnp.where(done, initial_stack(obs, self.num_stack), pushed)
            seen = jnp.where(done, self._relevant_seen(obs), seen)
            info["final_observation"] = pushed
        return frames, AdaptiveStackState(env_state, frames, seen), reward, terminated, \
            truncated, info

    def action_space(self, params=None):
        if self.encoding == "flat":
            return spaces.Discrete(self.env_actions * self.num_stack)
        return spaces.Box(0, np.array([self.env_actions - 1, self.num_stack - 1]), (2,),
                          jnp.int32)

    def observation_space(self, params):
        inner = self._env.observation_space(params)
        low, high = box_bounds(inner)
        shape = (self.num_stack, *low.shape)
        low = np.minimum(np.broadcast_to(low, shape), 0)  # the initial zero frames
        return spaces.Box(low, np.broadcast_to(high, shape), shape, inner.dtype)


def frame_stack(env, num_stack: int, relevant=None) -> Wrapper:
    """Frame stacking with the reference code's initial stack (zeros, then the first
    observation): :class:`AdaptiveStack` whose memory action is always 0."""
    return SlidingWindow(env, num_stack, relevant=relevant)


class SlidingWindow(AdaptiveStack):
    """:class:`AdaptiveStack` with the memory action fixed to 0 and the inner action space."""

    def __init__(self, env, num_stack: int, relevant=None):
        super().__init__(env, num_stack, "flat", relevant)

    def split_action(self, action):
        return jnp.asarray(action, jnp.int32), jnp.zeros_like(jnp.asarray(action, jnp.int32))

    def action_space(self, params=None):
        return self._env.action_space(params)
