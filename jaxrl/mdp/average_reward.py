"""Average reward (gain) of a policy: ``ρ(π) = Σ_s d_π(s) r_π(s)`` with ``d_π`` the stationary
distribution of ``P_π`` (Puterman 1994, §8.2; the reference code's ``expectedreward``)."""

from __future__ import annotations

import jax

from jaxrl.mdp.policy import reward_vector, transition_matrix
from jaxrl.mdp.stationary import stationary_distribution


def average_reward(p_sa, r_sa, policy) -> jax.Array:
    """ρ(π) of a deterministic ``[S]`` or stochastic ``[S, A]`` policy."""
    return stationary_distribution(transition_matrix(p_sa, policy)) @ reward_vector(r_sa, policy)


average_rewards = jax.vmap(average_reward, in_axes=(None, None, 0))
"""ρ of a batch of policies (leading axis) on one MDP."""
