"""Prediction of the frame an action will land on: the realtime wrapper run ahead on its model.

An agent whose inference takes ``D`` frames acts, at frame ``t``, on the state of frame ``t``,
but its action reaches the game at frame ``t + D`` (the staleness of
:class:`~envs.realtime.Realtime`). In between, the actions already in flight (and the default
action on idle frames) are applied. An agent that knows the game's dynamics and its own actions
in flight can act on a prediction of the state at ``t + D`` instead: the classic remedy for
delayed MDPs (the augmented state of Katsikopoulos & Engelbrecht 2003, resolved by a model).
What it cannot predict is the game's own randomness over those ``D`` frames, which is the
delay regret Riemer et al. (ICLR 2025, §4) attribute to the environment's stochasticity.

:func:`lookahead` runs the wrapper ``frames`` frames ahead from its current state, feeding the
noop action as the agent's new actions; under a scheduler whose staleness is at least
``frames`` (staggered with exact inference times, sequential) none of those placeholders is
applied within the horizon, so in a deterministic game the prediction is exact.
"""

from __future__ import annotations

import jax

from envs.realtime.wrapper import Realtime, RealtimeState


def lookahead(env: Realtime, state: RealtimeState, params, frames: int,
              key: jax.Array) -> RealtimeState:
    """``state`` advanced ``frames`` frames (static) by ``env`` with noop as the new actions;
    ``key`` draws the game's randomness in the prediction."""
    if not isinstance(env, Realtime):
        raise TypeError(f"env must be an envs.realtime.Realtime, got {type(env).__name__}")
    if frames < 0:
        raise ValueError(f"frames={frames} is invalid: expected an integer >= 0")

    def frame(state, key):
        _, state, *_ = env.transition(key, state, env.noop_action, params)
        return state, None

    state, _ = jax.lax.scan(frame, state, jax.random.split(key, frames))
    return state
