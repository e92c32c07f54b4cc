"""Tetris at frame level: the stand-in for the Game Boy game of realtime RL (Riemer et al., 2025).

A 10×20 well, the seven tetrominoes (:mod:`envs.tetris.pieces`), NES-style gravity and
line-clear scoring by level. One ``step`` is one frame; per frame the agent may do one of
``0`` noop, ``1`` left, ``2`` right, ``3`` rotate clockwise, ``4`` soft drop. Gravity pulls the
piece one row every ``frames_per_row(level)`` frames whatever the agent does, so an agent that
acts late finds its piece lower (or already locked).

Rules per frame, in order:

1. The action: a move or rotation happens only if the piece stays inside the well and off the
   locked cells (no wall kicks); a soft drop moves one row down and restarts the gravity count,
   or locks the piece if it cannot move.
2. Gravity: the frame counter grows; when it reaches ``frames_per_row(level)`` it restarts and
   the piece falls one row, or locks if it cannot.
3. Locking writes the piece into the well, clears full rows (the rows above fall), scores
   ``(40, 100, 300, 1200)[n-1]·(level + 1)`` for ``n`` rows with ``level`` taken before the
   clear, and spawns the next piece at the top (row 0, columns 3–5, 3–6 for I, 4–5 for O).
   The game ends (``terminated``) when the new piece overlaps locked cells.

``level = start_level + lines // 10``; ``frames_per_row`` follows the NES table (48 frames at
level 0 down to 1 from level 29). Choices where the NES is different or the issue is silent:
pieces are drawn uniformly at random (the next piece is drawn at spawn); no soft-drop points,
no hold, no wall kicks, no lock delay. The reward is the score gained.

Observation: ``(20, 10, 2)`` bool, channel 0 the locked cells, channel 1 the falling piece.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment
from envs.tetris.pieces import BOX, CELLS, NAMES

ROWS, COLS = 20, 10
NOOP, LEFT, RIGHT, ROTATE, SOFT_DROP = range(5)
NUM_ACTIONS = 5
LINE_SCORES = np.array([0, 40, 100, 300, 1200], np.int32)
# NES frames per row at levels 0..28; level 29 and above fall one row per frame.
FRAMES_PER_ROW = np.array([48, 43, 38, 33, 28, 23, 18, 13, 8, 6, 5, 5, 5, 4, 4, 4, 3, 3, 3]
                          + [2] * 10 + [1], np.int32)
SPAWN_COL = np.where(BOX == 2, 4, 3).astype(np.int32)


@struct.dataclass
class TetrisParams:
    start_level: int = 0
    max_steps_in_episode: int = 100_000


@struct.dataclass
class TetrisState:
    board: jax.Array  # (ROWS, COLS) bool locked cells
    piece: jax.Array  # () int in [0, 7): index into pieces.NAMES
    rotation: jax.Array  # () int in [0, 4)
    row: jax.Array  # () int, box top-left row
    col: jax.Array  # () int, box top-left column
    next_piece: jax.Array  # () int
    gravity_count: jax.Array  # () frames since the piece last fell
    lines: jax.Array  # () total rows cleared
    score: jax.Array  # () total score
    game_over: jax.Array  # () bool
    time: jax.Array  # () frames since reset


def frames_per_row(level) -> jax.Array:
    return jnp.asarray(FRAMES_PER_ROW)[jnp.minimum(level, len(FRAMES_PER_ROW) - 1)]


def piece_cells(piece, rotation, row, col) -> jax.Array:
    """``(4, 2)`` absolute (row, col) cells of a piece."""
    return jnp.asarray(CELLS)[piece, rotation] + jnp.stack([row, col])


def collides(board, cells) -> jax.Array:
    r, c = cells[:, 0], cells[:, 1]
    inside = (r >= 0) & (r < ROWS) & (c >= 0) & (c < COLS)
    hit = board[jnp.clip(r, 0, ROWS - 1), jnp.clip(c, 0, COLS - 1)]
    return jnp.any(~inside | hit)


def clear_lines(board) -> tuple[jax.Array, jax.Array]:
    """Remove full rows; the rows above fall. Returns ``(board, rows cleared)``."""
    full = jnp.all(board, axis=1)
    # Each kept row moves down by the number of full rows below it.
    below = jnp.cumsum(full[::-1])[::-1] - full
    target = jnp.where(full, ROWS, jnp.arange(ROWS) + below)  # ROWS = dropped
    cleared = jnp.zeros((ROWS + 1, COLS), bool).at[target].set(board)[:ROWS]
    return cleared, jnp.sum(full)


class Tetris(Environment):
    """Frame-level Tetris; see the module docstring for the rules."""

    @property
    def default_params(self) -> TetrisParams:
        return TetrisParams()

    @property
    def name(self) -> str:
        return "Tetris"

    @property
    def num_actions(self) -> int:
        return NUM_ACTIONS

    def action_space(self, params=None):
        return spaces.Discrete(NUM_ACTIONS)

    def observation_space(self, params):
        return spaces.Box(0, 1, (ROWS, COLS, 2), jnp.bool_)

    def level(self, state: TetrisState, params: TetrisParams) -> jax.Array:
        return params.start_level + state.lines // 10

    def get_obs(self, state: TetrisState) -> jax.Array:
        cells = piece_cells(state.piece, state.rotation, state.row, state.col)
        active = jnp.zeros((ROWS, COLS), bool).at[cells[:, 0], cells[:, 1]].set(True, mode="drop")
        return jnp.stack([state.board, active & ~state.game_over], axis=-1)

    def _spawn(self, state: TetrisState, piece, key) -> TetrisState:
        col = jnp.asarray(SPAWN_COL)[piece]
        zero = jnp.zeros((), jnp.int32)
        game_over = collides(state.board, piece_cells(piece, zero, zero, col))
        return state.replace(piece=piece, rotation=zero, row=zero, col=col,
                             next_piece=jax.random.randint(key, (), 0, len(NAMES)),
                             gravity_count=zero, game_over=game_over)

    def reset_env(self, key, params):
        k_first, k_next = jax.random.split(key)
        zero = jnp.zeros((), jnp.int32)
        state = TetrisState(board=jnp.zeros((ROWS, COLS), bool), piece=zero, rotation=zero,
                            row=zero, col=zero, next_piece=zero, gravity_count=zero, lines=zero,
                            score=zero, game_over=jnp.bool_(False), time=zero)
        state = self._spawn(state, jax.random.randint(k_first, (), 0, len(NAMES)), k_next)
        return self.get_obs(state), state

    def _fits(self, state, rotation, row, col):
        return ~collides(state.board, piece_cells(state.piece, rotation, row, col))

    def _lock(self, state: TetrisState, params, key) -> tuple[TetrisState, jax.Array]:
        cells = piece_cells(state.piece, state.rotation, state.row, state.col)
        board, n = clear_lines(state.board.at[cells[:, 0], cells[:, 1]].set(True))
        reward = jnp.asarray(LINE_SCORES)[n] * (self.level(state, params) + 1)
        state = state.replace(board=board, lines=state.lines + n, score=state.score + reward)
        return self._spawn(state, state.next_piece, key), reward

    def step_env(self, key, state: TetrisState, action, params):
        a = jnp.asarray(action).reshape(())
        # 1. The action.
        d_col = jnp.where(a == LEFT, -1, jnp.where(a == RIGHT, 1, 0))
        rotation = jnp.where(a == ROTATE, (state.rotation + 1) % 4, state.rotation)
        moved = self._fits(state, rotation, state.row, state.col + d_col)
        state = state.replace(rotation=jnp.where(moved, rotation, state.rotation),
                              col=jnp.where(moved, state.col + d_col, state.col))
        drop = a == SOFT_DROP
        # 2. Gravity.
        count = state.gravity_count + 1
        fall = count >= frames_per_row(self.level(state, params))
        down = drop | fall
        can_fall = self._fits(state, state.rotation, state.row + 1, state.col)
        state = state.replace(row=jnp.where(down & can_fall, state.row + 1, state.row),
                              gravity_count=jnp.where(down, 0, count))
        # 3. Locking.
        locked, reward = self._lock(state, params, key)
        lock = down & ~can_fall
        state = jax.tree.map(lambda x, y: jnp.where(lock, x, y), locked, state)
        reward = jnp.where(lock, reward, 0)
        state = state.replace(time=state.time + 1)
        return (self.get_obs(state), state, reward.astype(jnp.float32), state.game_over, {})

    def is_truncated(self, state, params):
        return (state.time >= params.max_steps_in_episode) & ~state.game_over


def make_tetris(**overrides):
    from envs.registry import replace_params

    env = Tetris()
    return env, replace_params(env.default_params, overrides, env.name)
