"""A scripted Tetris player: the demonstrator of realtime RL's Tetris runs (Riemer et al., 2025).

The paper's DQN on Game Boy Tetris starts from 16 000 updates on a recorded human game
(``pretrain_steps`` in its code) because DQN alone barely clears a line at frame level. No
recording ships with this project, so this module plays the demonstrations instead: a
placement heuristic picks where the falling piece should land, and a frame-level controller
steers it there with the game's own actions.

Placement (choice where the paper is silent): every rotation and column the piece fits at on its
current row is dropped straight down; the resulting board, after line clears, is scored by the
linear evaluation of Lee (2013, "Tetris AI: the (near) perfect bot"),
``−0.510066·aggregate height + 0.760666·lines − 0.35663·holes − 0.184483·bumpiness``, and the
best one is the target. The path is not searched: a placement counts if it fits on the piece's
current row (at level 0 the piece has ~48 frames per row to get there).

Controller, one action per frame: rotate (clockwise) while the rotation differs and the rotated
piece fits; else move one column toward the target; else soft drop once aligned. When the piece
can neither rotate nor move toward the target, it waits (noop) for gravity. The target is
recomputed from the state every frame, so the player is a pure function of the state.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from envs.tetris.tetris import (
    COLS,
    LEFT,
    NOOP,
    RIGHT,
    ROTATE,
    ROWS,
    SOFT_DROP,
    TetrisState,
    clear_lines,
    collides,
    piece_cells,
)

# Lee (2013): aggregate height, complete lines, holes, bumpiness.
WEIGHTS = np.array([-0.510066, 0.760666, -0.35663, -0.184483], np.float32)
# Box columns a piece may occupy: a 4-wide box can start 3 columns left of the well.
TARGET_COLS = np.arange(-3, COLS, dtype=np.int32)


def board_features(board: jax.Array, lines) -> jax.Array:
    """``(aggregate height, lines, holes, bumpiness)`` of a ``(ROWS, COLS)`` bool board."""
    filled = board.astype(jnp.int32)
    top = jnp.where(board.any(axis=0), jnp.argmax(board, axis=0), ROWS)  # first filled row
    heights = ROWS - top
    holes = jnp.sum((jnp.cumsum(filled, axis=0) > 0) & ~board)  # empty cells under a top
    bumpiness = jnp.sum(jnp.abs(jnp.diff(heights)))
    return jnp.stack([heights.sum(), lines, holes, bumpiness]).astype(jnp.float32)


def _landing(board, piece, rotation, row, col):
    """``(fits now, landing row)``: the piece at ``(rotation, col)`` dropped from ``row``."""
    rows = row + jnp.arange(ROWS + 1)
    fits = jax.vmap(lambda r: ~collides(board, piece_cells(piece, rotation, r, col)))(rows)
    depth = jnp.sum(jnp.cumprod(fits.astype(jnp.int32)))  # consecutive fitting rows from row
    return fits[0], row + jnp.maximum(depth - 1, 0)


def placement_scores(state: TetrisState) -> jax.Array:
    """``(4, len(TARGET_COLS))`` heuristic value of dropping the piece at each rotation and box
    column; ``-inf`` where it does not fit on the piece's current row."""

    def score(rotation, col):
        ok, land = _landing(state.board, state.piece, rotation, state.row, col)
        cells = piece_cells(state.piece, rotation, land, col)
        board = state.board.at[cells[:, 0], cells[:, 1]].set(True, mode="drop")
        board, lines = clear_lines(board)
        value = jnp.dot(jnp.asarray(WEIGHTS), board_features(board, lines))
        return jnp.where(ok, value, -jnp.inf)

    rotations = jnp.arange(4, dtype=jnp.int32)
    return jax.vmap(lambda r: jax.vmap(lambda c: score(r, c))(jnp.asarray(TARGET_COLS)))(
        rotations)


def expert_target(state: TetrisState) -> tuple[jax.Array, jax.Array]:
    """The best ``(rotation, box column)`` for the falling piece."""
    scores = placement_scores(state)
    best = jnp.argmax(scores.reshape(-1))
    return (best // len(TARGET_COLS)).astype(jnp.int32), jnp.asarray(TARGET_COLS)[
        best % len(TARGET_COLS)]


def expert_action(state: TetrisState) -> jax.Array:
    """The controller's action this frame (see the module docstring)."""
    rotation, col = expert_target(state)

    def fits(r, c):
        return ~collides(state.board, piece_cells(state.piece, r, state.row, c))

    toward = jnp.sign(col - state.col)
    can_rotate = fits((state.rotation + 1) % 4, state.col)
    can_move = fits(state.rotation, state.col + toward)
    move = jnp.where(toward < 0, LEFT, RIGHT)
    aligned_col = toward == 0
    action = jnp.where(
        state.rotation != rotation,
        jnp.where(can_rotate, ROTATE, jnp.where(~aligned_col & can_move, move, NOOP)),
        jnp.where(aligned_col, SOFT_DROP, jnp.where(can_move, move, NOOP)))
    return jnp.where(state.game_over, NOOP, action).astype(jnp.int32)
