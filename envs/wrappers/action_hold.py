"""Neuron execution time τ (Anokhin et al., ICLR 2025): one network tick lasts τ environment
frames, during which the chosen action is held.

One step of the wrapped environment runs the inner environment for up to ``tau`` frames with the
same action and returns the last frame's observation and the *sum* of the frames' rewards
(undiscounted, our choice where the paper is silent). Frames stop at the first termination or
truncation: later frames are computed and discarded, so the episode ends exactly where the inner
one does. ``tau = 1`` is the inner environment. Place it inside
:class:`~envs.wrappers.AutoReset` (``AutoReset(ActionHold(env, tau))``) so a reset never happens
in the middle of a held action.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from envs.core import Transition, Wrapper


class ActionHold(Wrapper):
    """Each step = ``tau`` inner frames with the action held; rewards summed."""

    def __init__(self, env, tau: int):
        super().__init__(env)
        if isinstance(tau, bool) or not isinstance(tau, (int, np.integer)) or tau < 1:
            raise ValueError(f"tau={tau!r} is invalid: expected an integer >= 1")
        self.tau = int(tau)

    def transition(self, key, state, action, params) -> Transition:
        keys = jax.random.split(key, self.tau)
        first = self._env.transition(keys[0], state, action, params)
        if "final_observation" in first[5]:
            raise ValueError("ActionHold must wrap the environment inside AutoReset: "
                             "AutoReset(ActionHold(env, tau)), not the other way round")
        if self.tau == 1:
            return first
        obs, state, reward, terminated, truncated, info = first
        carry = (obs, state, reward.astype(jnp.float32), terminated, truncated, info)

        def frame(carry, key):
            done = jnp.logical_or(carry[3], carry[4])
            obs, state, reward, terminated, truncated, info = self._env.transition(
                key, carry[1], action, params)
            stepped = (obs, state, carry[2] + reward, terminated, truncated, info)
            return jax.tree.map(lambda old, new: jnp.where(done, old, new), carry, stepped), None

        carry, _ = jax.lax.scan(frame, carry, keys[1:])
        return carry
