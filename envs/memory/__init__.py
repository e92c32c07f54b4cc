"""Memory tasks (Adaptive Stacking, Nangue Tasse et al., 2025) and the stack wrappers."""

from envs.memory.minigrid import MEMORY_SIZES, XMiniGrid, make_minigrid_memory
from envs.memory.stack import (
    AdaptiveStack,
    AdaptiveStackState,
    SlidingWindow,
    frame_stack,
    initial_stack,
    pop_push,
)
from envs.memory.tmaze import TMaze, TMazeParams, TMazeState, is_cue, make_tmaze
from envs.registry import register

register("TMaze", make_tmaze)
for _size in MEMORY_SIZES:
    register(*make_minigrid_memory(_size))

__all__ = [
    "AdaptiveStack",
    "AdaptiveStackState",
    "SlidingWindow",
    "TMaze",
    "TMazeParams",
    "TMazeState",
    "XMiniGrid",
    "frame_stack",
    "initial_stack",
    "is_cue",
    "make_tmaze",
    "pop_push",
]
