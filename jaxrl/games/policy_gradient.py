"""Naive policy-gradient peer with exact gradients (the "naive learner" NL-Ex of Foerster et
al., LOLA, 2018): softmax memory-1 policy ``π1 = softmax(θ)`` ``(S, m)``, and each step
``θ ← θ + lr ∇_θ V_1(π0, π1)`` with ``V_1`` the closed-form discounted return of
:mod:`jaxrl.games.memory_one` against agent 0's current policy. The peer ignores the sampled
transition. Defaults (lr 1, γ 0.9, θ = 0: uniform) are choices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.games.memory_one import discounted_return, num_states
from jaxrl.games.peer import Peer


def naive_gradient(payoffs, pi0, logits1, gamma):
    """``∇_θ V_1(π0, softmax θ)``."""
    return jax.grad(
        lambda th: discounted_return(payoffs, pi0, jax.nn.softmax(th, axis=-1), gamma)[1]
    )(logits1)


class NaivePolicyGradient(Peer):
    lr: float = 1.0
    gamma: float = 0.9

    def init(self, num_actions):
        return jnp.zeros((num_states(*num_actions), num_actions[1]), jnp.float32)

    def policy(self, state, s, payoffs):
        return jax.nn.softmax(state[s])

    def update(self, state, step):
        return state + self.lr * naive_gradient(step.payoffs, step.other_policy, state,
                                                self.gamma)
