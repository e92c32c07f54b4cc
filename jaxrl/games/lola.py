"""Exact LOLA peer (Foerster et al., "Learning with Opponent-Learning Awareness", AAMAS 2018).

The peer (agent 1, logits ``θ1``) assumes agent 0 (logits ``θ0``) is a naive learner that
takes one exact gradient step ``θ0' = θ0 + η ∇_{θ0} V_0(θ0, θ1)``, and ascends its own return
*after* that step, differentiating through it:
``θ1 ← θ1 + lr ∇_{θ1} V_1(θ0'(θ0, θ1), θ1)``. This is the look-ahead form of LOLA's eq. (4),
whose first-order Taylor expansion in η is the paper's LOLA gradient. Values are the exact
discounted returns of memory-1 policies (:mod:`jaxrl.games.memory_one`), with softmax
parameterisation per state. Agent 0's logits are ``log π0`` (clipped at ``1e-6``: a pure
strategy is a saturated softmax). Defaults (lr 1, η 1, γ 0.9, θ1 = 0) are choices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.games.memory_one import discounted_return, num_states
from jaxrl.games.peer import Peer


def lola_gradient(payoffs, logits0, logits1, lookahead, gamma):
    """``∇_{θ1} V_1(θ0 + η ∇_{θ0} V_0(θ0, θ1), θ1)``, the gradient through agent 0's step."""

    def value(k, th0, th1):
        pis = jax.nn.softmax(th0, axis=-1), jax.nn.softmax(th1, axis=-1)
        return discounted_return(payoffs, *pis, gamma)[k]

    def after_other_learns(th1):
        th0 = logits0 + lookahead * jax.grad(value, argnums=1)(0, logits0, th1)
        return value(1, th0, th1)

    return jax.grad(after_other_learns)(logits1)


class LOLA(Peer):
    lr: float = 1.0
    lookahead: float = 1.0
    gamma: float = 0.9

    def init(self, num_actions):
        return jnp.zeros((num_states(*num_actions), num_actions[1]), jnp.float32)

    def policy(self, state, s, payoffs):
        return jax.nn.softmax(state[s])

    def update(self, state, step):
        logits0 = jnp.log(jnp.clip(step.other_policy, 1e-6, 1.0))
        return state + self.lr * lola_gradient(step.payoffs, logits0, state, self.lookahead,
                                               self.gamma)
