"""Agents, networks, losses and training loops as pure functions (Equinox + optax)."""

import envs  # noqa: F401  (first: sets XLA's CPU flags before any computation)
from jaxrl import agents, further, games, mdp, networks, pipeline
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
    "further",
    "games",
    "mdp",
    "networks",
    "pipeline",
    "policy_returns",
    "run_seeds",
    "shard_seeds",
]
