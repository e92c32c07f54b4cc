"""Pipelined networks with temporal skip connections (Anokhin et al., ICLR 2025, "Handling Delay
in Real-Time Reinforcement Learning"): every layer reads last tick's output of the layer below,
the per-layer activations are an explicit pytree state, and one tick runs all layers at once."""

from jaxrl.pipeline.cnn import PipelineCNN
from jaxrl.pipeline.mlp import PipelineMLP
from jaxrl.pipeline.policy import (
    NETWORKS,
    PipelineActorCritic,
    make_pipeline_actor_critic,
)
from jaxrl.pipeline.stacked import Stacked
from jaxrl.pipeline.unroll import unroll
from jaxrl.pipeline.variants import VARIANTS, observation_delay

__all__ = [
    "NETWORKS",
    "VARIANTS",
    "PipelineActorCritic",
    "PipelineCNN",
    "PipelineMLP",
    "Stacked",
    "make_pipeline_actor_critic",
    "observation_delay",
    "unroll",
]
