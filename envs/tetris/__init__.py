"""Frame-level JAX Tetris, registered as ``"Tetris"`` (import this package to register it), and a
scripted player (:mod:`envs.tetris.expert`)."""

from envs.registry import register
from envs.tetris.expert import board_features, expert_action, expert_target
from envs.tetris.pieces import NAMES as PIECES
from envs.tetris.tetris import (
    LEFT,
    NOOP,
    RIGHT,
    ROTATE,
    SOFT_DROP,
    Tetris,
    TetrisParams,
    TetrisState,
    clear_lines,
    frames_per_row,
    make_tetris,
    piece_cells,
)

register("Tetris", make_tetris)

__all__ = ["LEFT", "NOOP", "PIECES", "RIGHT", "ROTATE", "SOFT_DROP", "Tetris", "TetrisParams",
           "TetrisState", "board_features", "clear_lines", "expert_action", "expert_target",
           "frames_per_row", "make_tetris", "piece_cells"]
