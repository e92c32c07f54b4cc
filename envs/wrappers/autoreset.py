"""Auto-reset: the one place where finished episodes restart."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from envs.core import Transition, Wrapper


def _select(done, a, b):
    return jax.tree.map(lambda x, y: jax.lax.select(done, x, y), a, b)


class AutoReset(Wrapper):
    """Reset when ``terminated or truncated``; ``info["final_observation"]`` keeps the last obs.

    The key is split exactly as gymnax's own ``Environment.step`` splits it, so an auto-reset
    gymnax environment steps identically to the raw gymnax one. ``info`` also carries
    ``terminated`` and ``truncated`` so a learner can bootstrap on truncation from the final
    observation.
    """

    def transition(self, key, state, action, params) -> Transition:
        key_step, key_reset = jax.random.split(key)
        obs_st, state_st, reward, terminated, truncated, info = self._env.transition(
            key_step, state, action, params
        )
        done = jnp.logical_or(terminated, truncated)
        obs_re, state_re = self._env.reset_env(key_reset, params)
        state = _select(done, state_re, state_st)
        obs = _select(done, obs_re, obs_st)
        info = {
            **info,
            "terminated": terminated,
            "truncated": truncated,
            "final_observation": obs_st,
        }
        return obs, state, reward, terminated, truncated, info
