"""Exact analysis of tabular MDPs: the chain of a policy, its stationary distribution, average
reward and ε-mixing time. Pure and jittable; the ``*s`` variants are vmapped over policies.
``renewal`` builds finite chains of episodic games and task sequences from episode lengths."""

from jaxrl.mdp.average_reward import average_reward, average_rewards
from jaxrl.mdp.mixing import (
                              distance_to_stationary,
                              mixing_time,
                              policy_mixing_time,
                              policy_mixing_times,
)
from jaxrl.mdp.policy import (
                              action_probabilities,
                              lift,
                              reward_vector,
                              transition_matrix,
)
from jaxrl.mdp.renewal import age_chain, task_sequence_chain
from jaxrl.mdp.stationary import (
                              normalisation_system,
                              power_iteration,
                              stationary_distribution,
)

__all__ = ["action_probabilities", "age_chain", "average_reward", "average_rewards",
           "distance_to_stationary", "lift", "mixing_time", "normalisation_system", "policy_mixing_time",
           "policy_mixing_times", "power_iteration", "reward_vector", "stationary_distribution",
           "task_sequence_chain", "transition_matrix"]
