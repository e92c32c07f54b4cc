"""Pure, jittable environments and wrappers with one registry (gymnax 1.0 API)."""

from envs import (
    cheetah2,  # noqa: F401  (registers the two-agent HalfCheetah)
    games,  # noqa: F401  (registers the iterated matrix games)
    memory,  # noqa: F401  (registers the memory tasks)
    probes,  # noqa: F401  (registers the probe environments)
    scalable,  # noqa: F401  (registers the scalable MDPs)
    tetris,  # noqa: F401  (registers Tetris)
)
from envs.core import Environment, GymnaxEnv, Wrapper, as_environment
from envs.multi_agent import MultiAgentAutoReset, MultiAgentEnv, MultiAgentWrapper
from envs.probes import PROBES
from envs.realtime import Realtime, Scheduler
from envs.registry import make, register, registered
from envs.wrappers import (
    ActionHold,
    AutoReset,
    EpisodeStats,
    FlattenObservation,
    FrameStack,
    History,
    LastAction,
)

__all__ = [
    "PROBES",
    "ActionHold",
    "AutoReset",
    "Environment",
    "EpisodeStats",
    "FlattenObservation",
    "FrameStack",
    "GymnaxEnv",
    "History",
    "LastAction",
    "MultiAgentAutoReset",
    "MultiAgentEnv",
    "MultiAgentWrapper",
    "Realtime",
    "Scheduler",
    "Wrapper",
    "as_environment",
    "make",
    "register",
    "registered",
]
