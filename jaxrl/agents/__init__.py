"""Agents as ``make_train(config) -> train(key) -> (final_state, metrics)``."""

from jaxrl.agents import ppo
from jaxrl.agents.ppo import PPOConfig

__all__ = ["PPOConfig", "ppo"]
