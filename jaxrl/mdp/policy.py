"""The Markov chain a policy induces on a tabular MDP ``(P[s, a, s'], r[s, a])``.

A policy is either deterministic, an integer array ``[S]`` of actions, or stochastic, an array
``[S, A]`` of action probabilities; both are accepted everywhere in ``jaxrl.mdp``. A policy
given on observations is lifted to an environment's internal states by
``lift(policy, env.observation_of_state())``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def action_probabilities(policy, num_actions: int) -> jax.Array:
    """``[S, A]`` probabilities of ``policy`` (deterministic ``[S]`` or stochastic ``[S, A]``)."""
    policy = jnp.asarray(policy)
    if policy.ndim == 1:
        return jax.nn.one_hot(policy, num_actions)
    return policy


def transition_matrix(p_sa, policy) -> jax.Array:
    """``P_π[s, s'] = Σ_a π(a|s) P[s, a, s']``."""
    return jnp.einsum("sa,sat->st", action_probabilities(policy, p_sa.shape[1]), p_sa)


def reward_vector(r_sa, policy) -> jax.Array:
    """``r_π[s] = Σ_a π(a|s) r[s, a]``."""
    return (action_probabilities(policy, r_sa.shape[1]) * r_sa).sum(-1)


def lift(policy, observation_of_state) -> jax.Array:
    """A policy on observations, as a policy on the internal states that show them."""
    return jnp.asarray(policy)[jnp.asarray(observation_of_state)]
