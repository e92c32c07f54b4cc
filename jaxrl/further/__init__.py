"""FURTHER: influencing the long-term behaviour of other learners (Kim et al., NeurIPS 2022).

Latent-strategy inference + average-reward soft actor-critic with a learned gain ρ̂, and the
baselines LILI (discounted, same networks and inference) and MASAC (no inference), trained
single-step online against a peer on an iterated matrix game (:func:`make_train`).
"""

from jaxrl.further.config import (
    METHODS,
    PEERS,
    REFERENCE,
    FurtherConfig,
    reference_config,
)
from jaxrl.further.inference import chained_kl, gaussian_kl, inference_loss
from jaxrl.further.learner import Learner, LearnerState
from jaxrl.further.losses import actor_loss, critic_loss, soft_next_value
from jaxrl.further.networks import FurtherNets, GaussianEncoder, TwinCritic
from jaxrl.further.train import RunnerState, make_train

__all__ = [
    "METHODS",
    "PEERS",
    "REFERENCE",
    "FurtherConfig",
    "FurtherNets",
    "GaussianEncoder",
    "Learner",
    "LearnerState",
    "RunnerState",
    "TwinCritic",
    "actor_loss",
    "chained_kl",
    "critic_loss",
    "gaussian_kl",
    "inference_loss",
    "make_train",
    "reference_config",
    "soft_next_value",
]
