"""Realtime RL (Riemer et al., ICLR 2025): inference schedulers, the simulated realtime wrapper,
and the wall-clock runner with its host-side environments (JAX games, the PyBoy Game Boy)."""

from envs.realtime.host import FrameClock, HostEnv, JaxHostEnv
from envs.realtime.lookahead import lookahead
from envs.realtime.pyboy_env import GameBoyEnv
from envs.realtime.runner import GAME_BOY_FPS, MODES, RunResult, measure, run
from envs.realtime.schedulers import (
    KINDS,
    FrameOutput,
    Scheduler,
    SchedulerState,
    simulate,
    statistics,
)
from envs.realtime.wrapper import Realtime, RealtimeState

__all__ = ["GAME_BOY_FPS", "KINDS", "MODES", "FrameClock", "FrameOutput", "GameBoyEnv",
           "HostEnv", "JaxHostEnv", "Realtime", "RealtimeState", "RunResult", "Scheduler",
           "SchedulerState", "lookahead", "measure", "run", "simulate", "statistics"]
