"""Realtime RL (Riemer et al., ICLR 2025): inference schedulers and the realtime wrapper."""

from envs.realtime.schedulers import (
    KINDS,
    FrameOutput,
    Scheduler,
    SchedulerState,
    simulate,
    statistics,
)
from envs.realtime.wrapper import Realtime, RealtimeState

__all__ = ["KINDS", "FrameOutput", "Realtime", "RealtimeState", "Scheduler", "SchedulerState",
           "simulate", "statistics"]
