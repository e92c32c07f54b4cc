"""Closed-form returns of memory-1 policies in an iterated bimatrix game.

A memory-1 policy of agent k is an array ``(S, n_k)`` of action probabilities per observed
state, ``S = 1 + n·m`` (state 0 = start, ``1 + a0·m + a1`` = previous joint action, the
observation of :class:`envs.games.IteratedGame`); a stationary mixed strategy is the same row
in every state. The joint play is a Markov chain on the states with
``P[s, 1 + a0·m + a1] = π0[s, a0]·π1[s, a1]`` and expected step reward
``r_k[s] = Σ π0[s, a0] π1[s, a1] R_k[a0, a1]``. From the start state:

* discounted return ``V_k = Σ_{t≥0} γ^t E[r_{k,t}] = e_0ᵀ (I − γP)⁻¹ r_k`` (Foerster et al.'s
  exact-LOLA value, 2018, there for the iterated prisoner's dilemma);
* average return ``ρ_k = lim_T (1/T) Σ_{t<T} E[r_{k,t}] = e_0ᵀ P* r_k`` with ``P*`` the Cesàro
  limit of ``Pᵗ``, which exists for every finite chain. It is computed as the limit of the powers
  of the lazy chain ``(I + P)/2`` (aperiodic, same Cesàro limit) by repeated squaring:
  ``2^squarings`` steps, rows renormalised after each squaring against float32 drift.

Everything is differentiable (``jax.grad`` of ``discounted_return`` is the exact policy
gradient that naive learners and LOLA use).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxrl import linalg


def num_states(num_actions_0: int, num_actions_1: int) -> int:
    return 1 + num_actions_0 * num_actions_1


def stationary(strategy, num_actions_other: int):
    """The memory-1 policy ``(S, n)`` that plays the mixed ``strategy`` ``(n,)`` in every state."""
    strategy = jnp.asarray(strategy, jnp.float32)
    return jnp.broadcast_to(strategy, (num_states(strategy.shape[-1], num_actions_other),
                                       strategy.shape[-1]))


def joint_probabilities(pi0, pi1):
    """``(S, n, m)``: probability of each joint action in each state."""
    return pi0[:, :, None] * pi1[:, None, :]


def transition_matrix(pi0, pi1):
    """``P`` ``(S, S)``: from state ``s`` to state ``1 + a0·m + a1``; no transition enters 0."""
    joint = joint_probabilities(pi0, pi1)
    flat = joint.reshape(joint.shape[0], -1)
    return jnp.concatenate([jnp.zeros((flat.shape[0], 1), flat.dtype), flat], axis=1)


def expected_rewards(payoffs, pi0, pi1):
    """``(2, S)``: each agent's expected reward of the step taken in each state."""
    return jnp.einsum("san,kan->ks", joint_probabilities(pi0, pi1), payoffs)


@jax.jit
def discounted_return(payoffs, pi0, pi1, gamma):
    """``(2,)``: ``Σ_t γ^t E[r_t]`` of both agents from the start state."""
    p = transition_matrix(pi0, pi1)
    r = expected_rewards(payoffs, pi0, pi1)
    eye = jnp.eye(p.shape[0], dtype=p.dtype)
    occupancy = linalg.solve((eye - gamma * p).T, eye[0])  # e_0ᵀ (I − γP)⁻¹
    return r @ occupancy


def limit_distribution(p, squarings: int = 48):
    """Row 0 of the Cesàro limit ``P*``: the long-run state frequencies from the start state."""
    lazy = 0.5 * (jnp.eye(p.shape[0], dtype=p.dtype) + p)

    def square(m, _):
        m = m @ m
        return m / m.sum(axis=1, keepdims=True), None

    lazy, _ = jax.lax.scan(square, lazy, None, length=squarings)
    return lazy[0]


@partial(jax.jit, static_argnames="squarings")
def average_return(payoffs, pi0, pi1, squarings: int = 48):
    """``(2,)``: long-run average reward of both agents from the start state."""
    return expected_rewards(payoffs, pi0, pi1) @ limit_distribution(
        transition_matrix(pi0, pi1), squarings)
