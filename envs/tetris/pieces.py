"""The seven tetrominoes and their four clockwise rotations, as cell offsets in a bounding box.

Shapes and boxes follow the Super Rotation System's spawn orientations (I and O in a 4×4 and
2×2 box, the rest in 3×3); a rotation turns the box clockwise about its centre, without the
SRS wall kicks (a rotation that would collide simply does not happen).
"""

from __future__ import annotations

import numpy as np

NAMES = ("I", "O", "T", "S", "Z", "J", "L")

_SPAWN = {  # (box size, cells as (row, col)) in the spawn orientation
    "I": (4, ((1, 0), (1, 1), (1, 2), (1, 3))),
    "O": (2, ((0, 0), (0, 1), (1, 0), (1, 1))),
    "T": (3, ((0, 1), (1, 0), (1, 1), (1, 2))),
    "S": (3, ((0, 1), (0, 2), (1, 0), (1, 1))),
    "Z": (3, ((0, 0), (0, 1), (1, 1), (1, 2))),
    "J": (3, ((0, 0), (1, 0), (1, 1), (1, 2))),
    "L": (3, ((0, 2), (1, 0), (1, 1), (1, 2))),
}


def _rotations(size: int, cells) -> np.ndarray:
    out = [np.array(cells)]
    for _ in range(3):
        r, c = out[-1][:, 0], out[-1][:, 1]
        out.append(np.stack([c, size - 1 - r], axis=1))  # clockwise in the box
    return np.stack([o[np.lexsort((o[:, 1], o[:, 0]))] for o in out])


# CELLS[piece, rotation] = (4, 2) int offsets (row, col) from the box's top-left corner.
CELLS = np.stack([_rotations(*_SPAWN[name]) for name in NAMES]).astype(np.int32)
BOX = np.array([_SPAWN[name][0] for name in NAMES], np.int32)
