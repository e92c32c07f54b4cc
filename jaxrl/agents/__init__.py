"""Agents as ``make_train(config) -> train(key) -> (final_state, metrics)``.

Each module holds one agent: its config (defaults = the paper's values) and ``make_train``.
"""

from jaxrl.agents import dqn, ppo, ppo_pipeline, sac, sac_pipeline, tabular_q
from jaxrl.agents.dqn import DQNConfig
from jaxrl.agents.ppo import PPOConfig
from jaxrl.agents.ppo_pipeline import PPOPipelineConfig
from jaxrl.agents.sac import SACConfig
from jaxrl.agents.sac_pipeline import SACPipelineConfig
from jaxrl.agents.tabular_q import TabularQConfig

MAKE_TRAIN = {"ppo": ppo.make_train, "ppo_pipeline": ppo_pipeline.make_train,
              "dqn": dqn.make_train, "sac": sac.make_train,
              "sac_pipeline": sac_pipeline.make_train, "tabular_q": tabular_q.make_train}

__all__ = ["MAKE_TRAIN", "DQNConfig", "PPOConfig", "PPOPipelineConfig", "SACConfig",
           "SACPipelineConfig", "TabularQConfig", "dqn", "ppo", "ppo_pipeline", "sac",
           "sac_pipeline", "tabular_q"]
