"""Memory tasks (Adaptive Stacking, Nangue Tasse et al., 2025) and the stack wrappers."""

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

__all__ = [
    "AdaptiveStack",
    "AdaptiveStackState",
    "SlidingWindow",
    "TMaze",
    "TMazeParams",
    "TMazeState",
    "frame_stack",
    "initial_stack",
    "is_cue",
    "make_tmaze",
    "pop_push",
]
