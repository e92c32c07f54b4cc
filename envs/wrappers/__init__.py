"""Wrappers are environments too; compose them around anything ``envs.make`` returns."""

from envs.wrappers.autoreset import AutoReset
from envs.wrappers.episode_stats import EpisodeStats, EpisodeStatsState

__all__ = ["AutoReset", "EpisodeStats", "EpisodeStatsState"]
