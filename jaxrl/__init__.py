"""Agents, networks, losses and training loops as pure functions (Equinox + optax)."""

from jaxrl import agents, demonstrations, further, games, linalg, mdp, networks, pipeline
from jaxrl.agents import (
    DQNConfig,
    PPOConfig,
    PPOPipelineConfig,
    SACConfig,
    TabularQConfig,
)
from jaxrl.config import ConfigError
from jaxrl.evaluate import policy_returns
from jaxrl.parallel import run_seeds, shard_seeds
from jaxrl.program import TrainProgram

__all__ = [
    "ConfigError",
    "DQNConfig",
    "PPOConfig",
    "PPOPipelineConfig",
    "SACConfig",
    "TabularQConfig",
    "TrainProgram",
    "agents",
    "demonstrations",
    "further",
    "games",
    "linalg",
    "mdp",
    "networks",
    "pipeline",
    "policy_returns",
    "run_seeds",
    "shard_seeds",
]
