"""The XOR-maze of Adaptive Stacking (Nangue Tasse et al., 2025; the reference code's
``GridWorldXOR``): two cues that must both be remembered.

A plus-shaped maze: the agent starts on the centre (the junction); the left and right arms end
in cue cells, the up and down arms in goals. Each cue shows one of two codes; the up goal is
correct when the two cues are equal, the down goal when they differ (their XOR). Observations
are one-hot codes of 4 as in the T-maze (0 corridor, 1 junction, 2/3 cue or goal codes: the up
goal shows 2, the down goal 3). ``arm`` is the arm length: 1 for the reference's length-5 map,
2 for its length-10 map. Reward +1 / −1 at a goal, which ends the episode (``continual``: back
to the centre with new cues); the step limit is ``max_steps_in_episode`` (100, as the
reference's ``max_episode_step``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment, Transition
from envs.memory.tmaze import (
    CORRIDOR,
    CUE_DOWN,
    CUE_UP,
    DOWN,
    JUNCTION,
    LEFT,
    NUM_OBS,
    RIGHT,
    UP,
)


@struct.dataclass
class XORMazeParams:
    arm: int = 1
    continual: bool = False
    max_steps_in_episode: int = 100


@struct.dataclass
class XORMazeState:
    dx: jax.Array  # column offset from the centre, −arm … arm
    dy: jax.Array  # row offset from the centre (negative is up)
    cues: jax.Array  # (2,) codes 0/1 of the left and right cue
    time: jax.Array


def observe(state: XORMazeState, arm) -> jax.Array:
    code = jnp.where(
        (state.dx == 0) & (state.dy == 0), JUNCTION,
        jnp.where(state.dy == -arm, CUE_UP,
                  jnp.where(state.dy == arm, CUE_DOWN,
                            jnp.where(state.dx == -arm, CUE_UP + state.cues[0],
                                      jnp.where(state.dx == arm, CUE_UP + state.cues[1],
                                                CORRIDOR)))))
    return jax.nn.one_hot(code, NUM_OBS, dtype=jnp.float32)


class XORMaze(Environment):
    """Visit both cues, then take the up goal if they match and the down goal if not."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    @property
    def default_params(self) -> XORMazeParams:
        return XORMazeParams()

    @property
    def name(self) -> str:
        return "XORMaze"

    @property
    def num_actions(self) -> int:
        return 4

    def _start(self, key, time) -> XORMazeState:
        zero = jnp.zeros((), jnp.int32)
        return XORMazeState(zero, zero, jax.random.randint(key, (2,), 0, 2),
                            jnp.asarray(time, jnp.int32))

    def reset_env(self, key, params):
        state = self._start(key, 0)
        return observe(state, params.arm), state

    def transition(self, key, state, action, params) -> Transition:
        arm, dx, dy = params.arm, state.dx, state.dy
        vertical, horizontal = dx == 0, dy == 0
        dy = dy - jnp.where((action == UP) & vertical & (dy > -arm), 1, 0) \
            + jnp.where((action == DOWN) & vertical & (dy < arm), 1, 0)
        dx = dx + jnp.where((action == RIGHT) & horizontal & (dx < arm), 1, 0) \
            - jnp.where((action == LEFT) & horizontal & (dx > -arm), 1, 0)
        time = state.time + 1
        moved = state.replace(dx=dx, dy=dy, time=time)
        reached = jnp.abs(dy) == arm
        up_is_right = state.cues[0] == state.cues[1]
        correct = jnp.where(dy < 0, up_is_right, ~up_is_right)
        reward = jnp.where(reached, jnp.where(correct, 1.0, -1.0), 0.0)
        restart = self._start(key, time)
        go_back = reached & params.continual
        new_state = jax.tree.map(lambda a, b: jnp.where(go_back, a, b), restart, moved)
        terminated = reached & ~params.continual
        truncated = (time >= params.max_steps_in_episode) & ~terminated
        return (observe(new_state, arm), new_state, reward, terminated, truncated,
                {"success": reached & correct})

    def action_space(self, params=None):
        return spaces.Discrete(4)

    def observation_space(self, params):
        return spaces.Box(0.0, 1.0, (NUM_OBS,), jnp.float32)


def make_xor_maze(**overrides) -> tuple[XORMaze, XORMazeParams]:
    fields = set(XORMazeParams.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"environment 'XORMaze' has no parameter "
                         f"{', '.join(map(repr, unknown))}; its parameters are: "
                         f"{', '.join(sorted(fields))}")
    params = XORMazeParams(**overrides)
    if int(params.arm) < 1:
        raise ValueError(f"XORMazeParams.arm={params.arm} is invalid: expected an integer >= 1")
    return XORMaze(), params
