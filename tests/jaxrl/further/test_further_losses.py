"""FURTHER's critic, gain and actor losses against hand-computed values on a tiny batch.

Stub networks with fixed outputs stand in for the MLPs, so every number below is worked out
by hand from the formulas of the paper (Eq. 6–8) and the reference code.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrl.further.losses import actor_loss, critic_loss, soft_next_value

OBS = 2  # observation size of the stubs; latent size 1; two actions each


class StubCritic(eqx.Module):
    """Q_k(x)[a] = table[k, peer action, a], the peer action read from the one-hot at the end."""

    table: jax.Array  # (2 twins, 2 peer actions, 2 own actions)

    def __call__(self, x):
        return jnp.einsum("b,kba->ka", x[-2:], self.table)


class StubLogits(eqx.Module):
    logits: jax.Array

    def __call__(self, x):
        return self.logits


def batch():
    return {"obs": jnp.zeros((2, OBS)), "z": jnp.zeros((2, 1)),
            "own_action": jnp.array([0, 1]), "peer_action": jnp.array([1, 0]),
            "reward": jnp.array([1.0, 2.0])}


CRITIC = StubCritic(jnp.array([[[1.0, 2.0], [3.0, 4.0]], [[0.5, 2.5], [3.5, 3.0]]]))


def test_critic_loss_average_reward_by_hand():
    # Row 0: own A, peer B -> Q1 = 3, Q2 = 3.5; row 1: own B, peer A -> Q1 = 2, Q2 = 2.5.
    # y = r − ρ + V' with ρ = 0.5, V' = (1, −1): y = (1.5, 0.5).
    # loss = mean[(3−1.5)² + (3.5−1.5)², (2−0.5)² + (2.5−0.5)²] = mean[6.25, 6.25] = 6.25.
    loss, td = critic_loss(CRITIC, jnp.float32(0.5), batch(), jnp.array([1.0, -1.0]), 1.0, 1.0,
                           2)
    assert float(loss) == pytest.approx(6.25)
    np.testing.assert_allclose(td, [1.5 - 3.25, 0.5 - 2.25])


def test_critic_loss_discounted_by_hand():
    # LILI: y = r + γ V' (no gain): γ = 0.5, V' = (2, 4) -> y = (2, 4).
    # loss = mean[(3−2)² + (3.5−2)², (2−4)² + (2.5−4)²] = mean[3.25, 6.25] = 4.75.
    loss, _ = critic_loss(CRITIC, jnp.float32(10.0), batch(), jnp.array([2.0, 4.0]), 0.5, 0.0, 2)
    assert float(loss) == pytest.approx(4.75)


def test_average_target_with_zero_gain_is_undiscounted_target():
    # FURTHER's loss with ρ̂ = 0 equals LILI's with γ = 1 (and differs for ρ̂ ≠ 0, γ < 1).
    v = jnp.array([0.7, -0.3])
    further, _ = critic_loss(CRITIC, jnp.float32(0.0), batch(), v, 1.0, 1.0, 2)
    lili, _ = critic_loss(CRITIC, jnp.float32(3.0), batch(), v, 1.0, 0.0, 2)
    assert float(further) == pytest.approx(float(lili))
    assert float(critic_loss(CRITIC, jnp.float32(0.2), batch(), v, 1.0, 1.0, 2)[0]) != \
        pytest.approx(float(lili))
    assert float(critic_loss(CRITIC, jnp.float32(0.0), batch(), v, 0.9, 0.0, 2)[0]) != \
        pytest.approx(float(lili))


def test_gain_gradient_sign_and_update():
    # L = mean_rows Σ_k (Q_k − y)² with y = r − ρ + V', so ∂L/∂ρ = mean_rows Σ_k 2 (Q_k − y).
    # With V' = 10 the TD error y − Q is positive, so ρ̂ must rise (as differential TD,
    # ρ ← ρ + β δ).
    next_value = jnp.array([10.0, 10.0])
    grad = jax.grad(lambda g: critic_loss(CRITIC, g, batch(), next_value, 1.0, 1.0, 2)[0])(
        jnp.float32(0.5))
    # y = (10.5, 11.5): rows give 2(3 − 10.5) + 2(3.5 − 10.5) = −29, 2(2 − 11.5) + 2(2.5 − 11.5)
    # = −37.
    assert float(grad) == pytest.approx((-29.0 - 37.0) / 2)
    opt = optax.adam(0.02)
    gain = jnp.float32(0.5)
    update, _ = opt.update(grad, opt.init(gain))
    assert float(gain + update) > 0.5
    # and with the TD error negative ρ̂ falls
    grad_neg = jax.grad(lambda g: critic_loss(CRITIC, g, batch(), -next_value, 1.0, 1.0, 2)[0])(
        jnp.float32(0.5))
    assert float(grad_neg) > 0


def test_soft_next_value_by_hand():
    # π = softmax(log(1/4, 3/4)) = (1/4, 3/4); decoder p(b) = (1/2, 1/2); α = 0.5.
    # min twins: peer A -> min((1, 2), (0.5, 2.5)) = (0.5, 2); peer B -> min((3, 4), (3.5, 3))
    # = (3, 3); expected over b: (1.75, 2.5).
    # V' = 1/4 (1.75 − 0.5 log 1/4) + 3/4 (2.5 − 0.5 log 3/4).
    actor = StubLogits(jnp.log(jnp.array([0.25, 0.75])))
    decoder = StubLogits(jnp.zeros(2))
    v = soft_next_value(actor, CRITIC, decoder, jnp.zeros((1, OBS)), jnp.zeros((1, 1)), 0.5)
    expected = 0.25 * (1.75 - 0.5 * np.log(0.25)) + 0.75 * (2.5 - 0.5 * np.log(0.75))
    assert float(v[0]) == pytest.approx(expected, rel=1e-6)


def test_actor_loss_by_hand():
    # Row 0: peer B -> min Q = (3, 3); row 1: peer A -> (0.5, 2). π = (1/4, 3/4), α = 0.5.
    # loss = −mean_rows Σ_a π(a) (Q[a] − α log π(a)).
    actor = StubLogits(jnp.log(jnp.array([0.25, 0.75])))
    loss = actor_loss(actor, CRITIC, batch(), 0.5, 2)
    ent = -0.5 * (0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    row0 = 0.25 * 3 + 0.75 * 3 + ent
    row1 = 0.25 * 0.5 + 0.75 * 2 + ent
    assert float(loss) == pytest.approx(-(row0 + row1) / 2, rel=1e-6)
    # the critic is held fixed: no gradient reaches it
    g = jax.grad(lambda c: actor_loss(actor, c, batch(), 0.5, 2))(CRITIC)
    assert float(jnp.abs(g.table).max()) == 0.0
