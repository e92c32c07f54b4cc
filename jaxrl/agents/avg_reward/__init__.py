"""Continuing tabular agents of Riemer et al. (2022), "Continual Learning In Environments With
Polynomial Mixing Times": the average-reward model-based agents (on-policy ρ, off-policy ρ,
ρ-gradient, iterative ρ) and the discounted baselines (Q-learning, Q-learning with replay,
Dyna-Q, model-based n-step TD, policy gradient). Each module has a config (defaults = the
paper's table), ``agent(config) -> TabularAgent`` and ``make_train(config, env=None,
env_params=None) -> TrainProgram`` (seeds: ``jax.vmap(program)``).

``AGENTS[name] = (config class, module)``; ``current_policy(name, config, runner_state)`` is the
agent's policy on observations (``[S]`` actions or ``[S, A]`` probabilities), ready for
``jaxrl.mdp``.
"""

from jaxrl.agents.avg_reward import (
    dyna_q,
    iterative_rho,
    n_step_td,
    off_policy_rho,
    on_policy_rho,
    policy_gradient,
    q_learning,
    replay_q,
    rho_gradient,
)
from jaxrl.agents.avg_reward.dyna_q import DynaQConfig
from jaxrl.agents.avg_reward.iterative_rho import IterativeRhoConfig
from jaxrl.agents.avg_reward.loop import (
    ContinualConfig,
    TabularAgent,
    make_continual_train,
)
from jaxrl.agents.avg_reward.n_step_td import NStepTDConfig
from jaxrl.agents.avg_reward.off_policy_rho import OffPolicyRhoConfig
from jaxrl.agents.avg_reward.on_policy_rho import OnPolicyRhoConfig
from jaxrl.agents.avg_reward.policy_gradient import PolicyGradientConfig
from jaxrl.agents.avg_reward.q_learning import QLearningConfig
from jaxrl.agents.avg_reward.replay_q import ReplayQConfig
from jaxrl.agents.avg_reward.rho_gradient import RhoGradientConfig

AGENTS = {
    "on_policy_rho": (OnPolicyRhoConfig, on_policy_rho),
    "off_policy_rho": (OffPolicyRhoConfig, off_policy_rho),
    "rho_gradient": (RhoGradientConfig, rho_gradient),
    "iterative_rho": (IterativeRhoConfig, iterative_rho),
    "q_learning": (QLearningConfig, q_learning),
    "replay_q": (ReplayQConfig, replay_q),
    "dyna_q": (DynaQConfig, dyna_q),
    "n_step_td": (NStepTDConfig, n_step_td),
    "policy_gradient": (PolicyGradientConfig, policy_gradient),
}
RHO_AGENTS = ("on_policy_rho", "off_policy_rho", "rho_gradient", "iterative_rho")


def current_policy(name: str, config, runner_state):
    """The policy of agent ``name`` in ``runner_state`` (unbatched), on observations."""
    return AGENTS[name][1].agent(config).policy(runner_state.agent)


__all__ = ["AGENTS", "RHO_AGENTS", "ContinualConfig", "DynaQConfig", "IterativeRhoConfig",
           "NStepTDConfig", "OffPolicyRhoConfig", "OnPolicyRhoConfig", "PolicyGradientConfig",
           "QLearningConfig", "ReplayQConfig", "RhoGradientConfig", "TabularAgent",
           "current_policy", "make_continual_train"]
