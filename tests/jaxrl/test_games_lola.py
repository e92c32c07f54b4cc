"""Exact LOLA's first step and the naive policy gradient against gradients derived by hand.

With γ = 0 the discounted return is the expected reward of the first step (from the start
state), so only the start state's logits move. With two actions the softmax over logits
(θ_A, θ_B) is p = σ(θ_A − θ_B). Write the payoffs [AA, AB, BA, BB] of agent k as
(A_k, B_k, C_k, D_k), agent 0's P(A) as p, the peer's as q.

* Agent 0's naive step: ∂V_0/∂p = g_0(q) = q(A_0 − C_0) + (1 − q)(B_0 − D_0), so the logit
  difference moves to d' = d + 2η p(1 − p) g_0(q) and p' = σ(d').
* The peer's gradient through that step, with h_1(p) = p(A_1 − B_1) + (1 − p)(C_1 − D_1) and
  h_0(q) = q(A_1 − C_1) + (1 − q)(B_1 − D_1):
  ∂V_1/∂θ_A = q(1 − q) [h_1(p') + h_0(q) · p'(1 − p') · 2η p(1 − p) ((A_0 − C_0) − (B_0 − D_0))]
  and ∂V_1/∂θ_B = −∂V_1/∂θ_A. The naive learner's gradient is q(1 − q) h_1(p) (η = 0).
"""

import jax
import jax.numpy as jnp
import numpy as np

from envs.games import GAMES
from jaxrl.games import LOLA, NaivePolicyGradient, PeerStep
from jaxrl.games import strategies as S


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def hand_lola_gradient(payoffs, p, q, eta):
    (a0, b0), (c0, d0) = payoffs[0]
    (a1, b1), (c1, d1) = payoffs[1]
    g0 = q * (a0 - c0) + (1 - q) * (b0 - d0)
    p_new = sigmoid(np.log(p / (1 - p)) + 2 * eta * p * (1 - p) * g0)
    h1 = p_new * (a1 - b1) + (1 - p_new) * (c1 - d1)
    h0 = q * (a1 - c1) + (1 - q) * (b1 - d1)
    through = h0 * p_new * (1 - p_new) * 2 * eta * p * (1 - p) * ((a0 - c0) - (b0 - d0))
    return q * (1 - q) * (h1 + through)


def _first_step(peer, other, payoffs):
    state = peer.init((2, 2))
    step = PeerStep(state=jnp.int32(0), actions=jnp.array([0, 0]), reward=jnp.float32(0),
                    next_state=jnp.int32(1), other_policy=jnp.asarray(other),
                    payoffs=jnp.asarray(payoffs))
    return np.asarray(jax.jit(peer.update)(state, step))


def test_lola_first_step_matches_hand_derived_gradient():
    bos = GAMES["bach_stravinsky"]
    other = S.mixed([0.5, 0.5], (2, 2), 0)
    new = _first_step(LOLA(lr=1.0, lookahead=1.0, gamma=0.0), other, bos)
    g = hand_lola_gradient(bos, 0.5, 0.5, eta=1.0)
    # By hand: g_0 = 0.5, d' = 0.25, p' = σ(0.25) = 0.5622, h_1 = 3p' − 2 = −0.3135,
    # h_0 = −0.5, so g = 0.25·(−0.3135 − 0.5·0.2461·1.5) = −0.1245.
    np.testing.assert_allclose(g, -0.12451, atol=1e-5)
    np.testing.assert_allclose(new[0], [g, -g], rtol=1e-4)
    np.testing.assert_array_equal(new[1:], 0.0)  # γ = 0: no other state matters


def test_lola_at_an_asymmetric_point_and_naive_gradient():
    chicken = GAMES["chicken"]
    other = S.mixed([0.8, 0.2], (2, 2), 0)
    g = hand_lola_gradient(chicken, 0.8, 0.5, eta=0.5)
    new = _first_step(LOLA(lr=1.0, lookahead=0.5, gamma=0.0), other, chicken)
    np.testing.assert_allclose(new[0], [g, -g], rtol=1e-4)
    naive = _first_step(NaivePolicyGradient(lr=1.0, gamma=0.0), other, chicken)
    g_naive = hand_lola_gradient(chicken, 0.8, 0.5, eta=0.0)
    np.testing.assert_allclose(naive[0], [g_naive, -g_naive], rtol=1e-4)
    assert abs(g - g_naive) > 1e-2  # the look-ahead term matters here
