"""Frame-level JAX Tetris, registered as ``"Tetris"`` (import this package to register it)."""

from envs.registry import register
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
           "TetrisState", "clear_lines", "frames_per_row", "make_tetris", "piece_cells"]
