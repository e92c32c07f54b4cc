"""The T-maze of Bakker (2002) as used by Adaptive Stacking (Nangue Tasse et al., 2025, §5).

A corridor of length ``L``: the cue cell (column 1) shows which arm holds the reward, corridor
cells (columns 2…L−1) look alike, the junction (column L) has an arm up and an arm down.
Observations are one-hot codes of 4 (as in the reference code): 0 corridor, 1 junction, 2 cue
"up", 3 cue "down"; an arm shows the code of its cue. Actions: 0 up, 1 right, 2 down, 3 left;
moves into walls keep the agent in place.

* Passive (``active=False``): the agent starts on the cue; every action away from the junction
  is "right", and at the junction up/right mean up and down/left mean down. Episodes last
  exactly ``L`` steps.
* Active (``active=True``): the agent starts one cell right of the cue and must step left to
  see it; the step limit is ``L + 1`` (the length of the shortest successful path).
* Reward +1 for the cued arm, −1 for the other, and the episode ends.
* ``random_length``: each episode draws its length uniformly from ``[2, length]``.
* ``continual``: reaching an arm does not end the episode; the agent returns to the start with
  a new cue and there is no step limit (``max_steps_in_episode`` truncates, as in gymnax).

Choice where the reference is loose: truncation is reported only on steps that do not
terminate (an episode ending on an arm at the limit is terminated, not truncated).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment, Transition

CORRIDOR, JUNCTION, CUE_UP, CUE_DOWN = 0, 1, 2, 3
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
NUM_OBS = 4


@struct.dataclass
class TMazeParams:
    length: int = 10
    active: bool = False
    random_length: bool = False
    continual: bool = False
    max_steps_in_episode: int = 1_000_000  # only binds in continual mode


@struct.dataclass
class TMazeState:
    column: jax.Array  # 1 = cue cell … length = junction
    row: jax.Array  # -1 up arm, 0 corridor, +1 down arm
    goal: jax.Array  # 0 up, 1 down
    length: jax.Array  # this episode's length
    time: jax.Array


def check_params(params: TMazeParams) -> None:
    """Raise ``ValueError`` naming the field when ``params`` cannot describe a T-maze."""
    length = np.asarray(params.length)
    if length.ndim == 0 and int(length) < 2:
        raise ValueError(f"TMazeParams.length={int(length)} is invalid: expected an integer >= 2")
    if np.asarray(params.max_steps_in_episode).ndim == 0 and int(params.max_steps_in_episode) < 1:
        raise ValueError("TMazeParams.max_steps_in_episode must be >= 1")


def observe(state: TMazeState) -> jax.Array:
    """One-hot observation of ``state`` (float32, shape ``(4,)``)."""
    cue = CUE_UP + state.goal
    at_arm = state.row != 0
    arm = jnp.where(state.row < 0, CUE_UP, CUE_DOWN)
    code = jnp.where(at_arm, arm,
                     jnp.where(state.column == 1, cue,
                               jnp.where(state.column == state.length, JUNCTION, CORRIDOR)))
    return jax.nn.one_hot(code, NUM_OBS, dtype=jnp.float32)


def is_cue(obs: jax.Array) -> jax.Array:
    """Whether a T-maze observation (or any slot of a stack of them) is a cue."""
    return jnp.any(obs[..., CUE_UP:] > 0.5, axis=-1)


class TMaze(Environment):
    """Passive/active T-maze with optional random length and continual mode.

    Stateless apart from its params, so all instances compare equal and share compiled code.
    """

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    @property
    def default_params(self) -> TMazeParams:
        return TMazeParams()

    @property
    def name(self) -> str:
        return "TMaze"

    @property
    def num_actions(self) -> int:
        return 4

    def _start(self, key, params, time) -> TMazeState:
        k_goal, k_len = jax.random.split(key)
        goal = jax.random.randint(k_goal, (), 0, 2)
        drawn = jax.random.randint(k_len, (), 2, jnp.asarray(params.length) + 1)
        length = jnp.where(params.random_length, drawn, params.length)
        column = jnp.where(params.active, 2, 1)
        return TMazeState(column=jnp.asarray(column, jnp.int32), row=jnp.zeros((), jnp.int32),
                          goal=goal.astype(jnp.int32), length=jnp.asarray(length, jnp.int32),
                          time=jnp.asarray(time, jnp.int32))

    def reset_env(self, key, params):
        state = self._start(key, params, 0)
        return observe(state), state

    def transition(self, key, state, action, params) -> Transition:
        action = jnp.asarray(action, jnp.int32)
        at_junction = state.column == state.length
        # Passive: forced right in the corridor; at the junction up/right -> up, else down.
        passive = jnp.where(at_junction,
                            jnp.where((action == UP) | (action == RIGHT), UP, DOWN), RIGHT)
        action = jnp.where(params.active, action, passive)
        column = state.column + jnp.where((action == RIGHT) & ~at_junction, 1, 0) \
            - jnp.where((action == LEFT) & (state.column > 1), 1, 0)
        row = jnp.where(at_junction & (action == UP), -1,
                        jnp.where(at_junction & (action == DOWN), 1, 0))
        reached = row != 0
        correct = row == jnp.where(state.goal == 0, -1, 1)
        reward = jnp.where(reached, jnp.where(correct, 1.0, -1.0), 0.0)
        time = state.time + 1
        moved = state.replace(column=column, row=row, time=time)
        obs = observe(moved)
        # Continual: back to the start with a fresh cue, same time counter, no termination.
        restart = self._start(key, params, time)
        restart = restart.replace(length=jnp.where(params.random_length, restart.length,
                                                   state.length))
        go_back = reached & params.continual
        new_state = jax.tree.map(lambda a, b: jnp.where(go_back, a, b), restart, moved)
        obs = jnp.where(go_back, observe(restart), obs)
        terminated = reached & ~params.continual
        limit = state.length + jnp.where(params.active, 1, 0)
        truncated = jnp.where(params.continual, time >= params.max_steps_in_episode,
                              time >= limit) & ~terminated
        info = {"success": reached & correct}
        return obs, new_state, reward, terminated, truncated, info

    def action_space(self, params=None):
        return spaces.Discrete(4)

    def observation_space(self, params):
        return spaces.Box(0.0, 1.0, (NUM_OBS,), jnp.float32)


def make_tmaze(**overrides) -> tuple[TMaze, TMazeParams]:
    """``(env, params)`` with ``overrides`` applied to :class:`TMazeParams` (checked)."""
    fields = set(TMazeParams.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"environment 'TMaze' has no parameter {', '.join(map(repr, unknown))}; "
                         f"its parameters are: {', '.join(sorted(fields))}")
    params = TMazeParams(**overrides)
    check_params(params)
    return TMaze(), params
