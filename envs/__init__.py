"""Pure, jittable environments and wrappers with one registry (gymnax 1.0 API)."""

from envs.core import Environment, GymnaxEnv, Wrapper, as_environment
from envs.registry import make, register, registered
from envs import probes  # noqa: F401  (registers the probe environments)
from envs import memory  # noqa: F401  (registers the memory tasks)
from envs import games  # noqa: F401  (registers the iterated matrix games)
from envs import scalable  # noqa: F401  (registers the scalable MDPs)
from envs import tetris  # noqa: F401  (registers Tetris)
from envs.realtime import Realtime, Scheduler
from envs.probes import PROBES
from envs.wrappers import (
    ActionHold,
    AutoReset,
    EpisodeStats,
    FlattenObservation,
    FrameStack,
    History,
    LastAction,
)
from envs.multi_agent import MultiAgentAutoReset, MultiAgentEnv, MultiAgentWrapper

__all__ = [
    "ActionHold",
    "AutoReset",
    "Environment",
    "EpisodeStats",
    "FlattenObservation",
    "FrameStack",
    "PROBES",
    "Realtime",
    "Scheduler",
    "GymnaxEnv",
    "History",
    "LastAction",
    "MultiAgentAutoReset",
    "MultiAgentEnv",
    "MultiAgentWrapper",
    "Wrapper",
    "as_environment",
    "make",
    "register",
    "registered",
]
