"""Wrappers are environments too; compose them around anything ``envs.make`` returns."""

from envs.wrappers.action_hold import ActionHold
from envs.wrappers.autoreset import AutoReset
from envs.wrappers.episode_stats import EpisodeStats, EpisodeStatsState
from envs.wrappers.flatten import FlattenObservation
from envs.wrappers.frame_stack import FrameStack, FrameStackState
from envs.wrappers.history import History, HistoryState
from envs.wrappers.last_action import LastAction

__all__ = [
    "ActionHold",
    "AutoReset",
    "EpisodeStats",
    "EpisodeStatsState",
    "FlattenObservation",
    "FrameStack",
    "FrameStackState",
    "History",
    "HistoryState",
    "LastAction",
]
