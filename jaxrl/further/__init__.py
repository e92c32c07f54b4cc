"""FURTHER: influencing the long-term behaviour of other learners (Kim et al., NeurIPS 2022).

Latent-strategy inference + average-reward soft actor-critic with a learned gain ρ̂, and the
baselines LILI (discounted, same networks and inference) and MASAC (no inference), trained
single-step online against a peer on an iterated matrix game (:func:`make_train`), and with a
tanh-squashed Gaussian policy on the two-agent HalfCheetah ``cheetah2``
(:class:`ContinuousLearner`; ``make_train`` dispatches on the game).
"""

from jaxrl.further.config import (
    CONTINUOUS_GAMES,
    METHODS,
    PEERS,
    REFERENCE,
    FurtherConfig,
    reference_config,
)
from jaxrl.further.continuous_learner import ContinuousLearner
from jaxrl.further.continuous_networks import ContinuousNets
from jaxrl.further.inference import chained_kl, gaussian_kl, inference_loss
from jaxrl.further.learner import Learner, LearnerState
from jaxrl.further.losses import actor_loss, critic_loss, soft_next_value
from jaxrl.further.networks import FurtherNets, GaussianEncoder, TwinCritic
from jaxrl.further.train import RunnerState, make_train
from jaxrl.further.train_continuous import ContinuousRunnerState, make_continuous_train

__all__ = [
    "CONTINUOUS_GAMES",
    "METHODS",
    "PEERS",
    "REFERENCE",
    "ContinuousLearner",
    "ContinuousNets",
    "ContinuousRunnerState",
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
    "make_continuous_train",
    "make_train",
    "reference_config",
    "soft_next_value",
]
