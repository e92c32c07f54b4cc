"""Memory tasks (Adaptive Stacking, Nangue Tasse et al., 2025) and the stack wrappers."""

from envs.memory.cards import Autoencode, RepeatPrevious, make_card_task
from envs.memory.concentration import Concentration, make_concentration
from envs.memory.masked_cartpole import MaskedCartPole, make_masked_cartpole
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
from envs.memory.xor_maze import XORMaze, XORMazeParams, make_xor_maze
from envs.registry import register

register("TMaze", make_tmaze)
register("XORMaze", make_xor_maze)
register("PositionOnlyCartPole", make_masked_cartpole("position"))
register("VelocityOnlyCartPole", make_masked_cartpole("velocity"))
register("NoisyPositionOnlyCartPole", make_masked_cartpole("position", noisy=True))
register("RepeatPrevious", make_card_task(RepeatPrevious))
register("Autoencode", make_card_task(Autoencode))
register("Concentration", make_concentration)
for _size in MEMORY_SIZES:
    register(*make_minigrid_memory(_size))

__all__ = [
    "AdaptiveStack",
    "AdaptiveStackState",
    "Autoencode",
    "Concentration",
    "MaskedCartPole",
    "RepeatPrevious",
    "SlidingWindow",
    "TMaze",
    "TMazeParams",
    "TMazeState",
    "XMiniGrid",
    "XORMaze",
    "XORMazeParams",
    "frame_stack",
    "initial_stack",
    "is_cue",
    "make_tmaze",
    "pop_push",
]
