"""The realtime wrapper: the environment advances every frame, whether or not an action is ready.

Riemer et al. (ICLR 2025), §3–4. One wrapper step is one frame. The action passed to ``step``
at frame ``t`` is the policy's output on the observation returned for frame ``t`` (``o_t``); it is
used only if some inference call of the :class:`~envs.realtime.Scheduler` reads ``o_t``, and it
reaches the environment when that call posts, ``staleness`` frames later. Frames with no fresh
action are acted by the default action: ``"noop"`` (``noop_action``, 0 by default) or
``"random"`` (uniform over the Discrete action space).

``info`` records the realtime regret decomposition frame by frame: ``inaction`` (1 when the
default acted), ``delay`` (the staleness in frames of the fresh action applied, 0 otherwise),
plus ``applied_action`` and ``reads_observation`` (whether the action given at this frame will be
used: a learner keeps only those decisions). Inaction and delay regret in returns are what a
run loses against the same policy acting fresh every frame (``num_processes`` large and
``inference_frames`` = 1 gives staleness 1 every frame).

Episode boundaries: put :class:`~envs.wrappers.AutoReset` *inside* (``Realtime(AutoReset(env))``)
so the inference processes keep running across episodes, as they would in a live game; with
the reset outside, every episode restarts the processes. Choice where the paper is silent: the
agent's action buffer holds ``Scheduler.max_staleness`` frames, enough for any staleness the
scheduler can produce.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.core import Transition, Wrapper
from envs.realtime import schedulers
from envs.realtime.schedulers import Scheduler

DEFAULTS = ("noop", "random")


@struct.dataclass
class RealtimeState:
    env_state: Any
    scheduler: schedulers.SchedulerState
    actions: jax.Array  # (L, *action_shape) ring buffer of the agent's actions by frame
    frame: jax.Array  # () frames since reset


class Realtime(Wrapper):
    """Run ``env`` in real time under ``scheduler`` with a default action for idle frames."""

    def __init__(self, env, scheduler: Scheduler, default: str = "noop", noop_action=0):
        super().__init__(env)
        if not isinstance(scheduler, Scheduler):
            raise TypeError(f"scheduler must be an envs.realtime.Scheduler, got "
                            f"{type(scheduler).__name__}")
        if default not in DEFAULTS:
            raise ValueError(f"default={default!r} is invalid: expected one of {DEFAULTS}")
        space = self._env.action_space(self._env.default_params)
        if default == "random" and not isinstance(space, spaces.Discrete):
            raise ValueError("default='random' needs a Discrete action space, got "
                             f"{type(space).__name__}")
        self.scheduler = scheduler
        self.default = default
        self.buffer_size = scheduler.max_staleness(float(scheduler.inference_frames))
        self._action_shape = tuple(space.shape)
        self._action_dtype = space.dtype
        self._num_actions = space.n if isinstance(space, spaces.Discrete) else None
        self.noop_action = jnp.broadcast_to(jnp.asarray(noop_action, space.dtype),
                                            self._action_shape)

    def reset_env(self, key, params):
        key_env, key_sched = jax.random.split(key)
        obs, env_state = self._env.reset_env(key_env, params)
        actions = jnp.broadcast_to(self.noop_action, (self.buffer_size, *self._action_shape))
        state = RealtimeState(env_state, schedulers.init(self.scheduler, key_sched), actions,
                              jnp.zeros((), jnp.int32))
        return obs, state

    def _default_action(self, key):
        if self.default == "random":
            return jax.random.randint(key, self._action_shape, 0, self._num_actions,
                                      self._action_dtype)
        return self.noop_action

    def transition(self, key, state, action, params) -> Transition:
        key_env, key_default = jax.random.split(key)
        t = state.frame
        actions = state.actions.at[t % self.buffer_size].set(
            jnp.asarray(action, self._action_dtype).reshape(self._action_shape))
        sched_state, out = schedulers.step(self.scheduler, state.scheduler)
        fresh_action = actions[(t - out.staleness) % self.buffer_size]
        applied = jnp.where(out.fresh, fresh_action, self._default_action(key_default))
        obs, env_state, reward, terminated, truncated, info = self._env.transition(
            key_env, state.env_state, applied, params
        )
        info = {**info, "inaction": (~out.fresh).astype(jnp.float32),
                "delay": out.staleness.astype(jnp.float32), "applied_action": applied,
                "reads_observation": out.reads}
        state = RealtimeState(env_state, sched_state, actions, t + 1)
        return obs, state, reward, terminated, truncated, info
