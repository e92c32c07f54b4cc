"""FURTHER's continuous-action losses against hand-computed values on tiny batches.

Stub networks with fixed outputs stand in for the MLPs; where a loss samples (tanh-Gaussian
actions, the decoder's peer action) the test draws the same standard-normal noise from the key
and works the formula out in NumPy: the log-density of a tanh-squashed Gaussian
(``log N(u) − Σ log(1 − tanh² u)``), the Gaussian decoder likelihood, the clipped peer sample.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.further.continuous_losses import (
    actor_loss,
    critic_loss,
    decoder_log_likelihood,
    inference_loss,
    soft_next_value,
)

LOG_2PI = np.log(2 * np.pi)


class StubCritic(eqx.Module):
    """From ``[obs (1), z (1), own (1), peer (1)]``: ``Q_1 = own + 2·peer``,
    ``Q_2 = own − peer + 1``."""

    def __call__(self, x):
        own, peer = x[2], x[3]
        return jnp.stack([own + 2 * peer, own - peer + 1.0])


class StubGaussian(eqx.Module):
    """``(mean, log_std)`` fixed, or ``mean = w · z`` when ``w`` is set (input ``[obs, z]``)."""

    mean: jax.Array
    log_std: jax.Array
    w: float = 0.0

    def __call__(self, x):
        return self.mean + self.w * x[-1], self.log_std


def normal_log_pdf(x, mean, log_std):
    return (-0.5 * ((x - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * LOG_2PI).sum(-1)


def batch():
    return {"obs": jnp.zeros((2, 1)), "z": jnp.zeros((2, 1)),
            "own_action": jnp.array([[0.5], [-1.0]]), "peer_action": jnp.array([[1.0], [0.0]]),
            "reward": jnp.array([1.0, 2.0])}


def test_decoder_log_likelihood_by_hand():
    # N(b; μ = (0.5, −1), σ = (e^0, e^−1)) at b = (1, −1):
    # −½(0.5)² − 0 − ½ log 2π  +  −½·0 + 1 − ½ log 2π = −0.125 + 1 − log 2π.
    decoder = StubGaussian(jnp.array([0.5, -1.0]), jnp.array([0.0, -1.0]))
    got = decoder_log_likelihood(decoder, jnp.zeros((1, 1)), jnp.zeros((1, 1)),
                                 jnp.array([[1.0, -1.0]]))
    assert float(got[0]) == pytest.approx(-0.125 + 1.0 - LOG_2PI, rel=1e-6)


def test_critic_loss_by_hand():
    # Row 0: own 0.5, peer 1 -> Q = (2.5, 0.5); row 1: own −1, peer 0 -> Q = (−1, 0).
    # FURTHER: y = r − ρ + V' with ρ = 0.5, V' = (1, −1): y = (1.5, 0.5).
    # loss = mean[(2.5−1.5)² + (0.5−1.5)², (−1−0.5)² + (0−0.5)²] = mean[2, 2.5] = 2.25.
    loss, td = critic_loss(StubCritic(), jnp.float32(0.5), batch(), jnp.array([1.0, -1.0]),
                           1.0, 1.0)
    assert float(loss) == pytest.approx(2.25)
    np.testing.assert_allclose(td, [1.5 - 1.5, 0.5 + 0.5])
    # ∂L/∂ρ = mean_rows Σ_k 2(Q_k − y) = mean[2(1) + 2(−1), 2(−1.5) + 2(−0.5)] = −2: ρ̂ rises.
    grad = jax.grad(lambda g: critic_loss(StubCritic(), g, batch(), jnp.array([1.0, -1.0]),
                                          1.0, 1.0)[0])(jnp.float32(0.5))
    assert float(grad) == pytest.approx(-2.0)
    # LILI: y = r + γ V' with γ = 0.5, V' = (2, 4): y = (2, 4), no gain.
    # loss = mean[(0.5)² + (1.5)², 5² + 4²] = mean[2.5, 41] = 21.75.
    loss, _ = critic_loss(StubCritic(), jnp.float32(10.0), batch(), jnp.array([2.0, 4.0]),
                          0.5, 0.0)
    assert float(loss) == pytest.approx(21.75)


def squashed(mean, log_std, eps):
    """NumPy ``(tanh u, log π)`` with ``u = mean + σ ε``."""
    u = mean + np.exp(log_std) * eps
    return np.tanh(u), normal_log_pdf(u, mean, log_std) - np.log(1 - np.tanh(u) ** 2).sum(-1)


def test_actor_loss_by_hand():
    # ã = tanh(0.3 + e^{−0.5} ε) per row, actual peer actions (1, 0); loss =
    # mean[α log π(ã) − min(ã + 2b, ã − b + 1)].
    actor = StubGaussian(jnp.array([0.3]), jnp.array([-0.5]))
    key, alpha = jax.random.key(3), 0.2
    eps = np.asarray(jax.random.normal(key, (2, 1)))
    own, log_pi = squashed(0.3, -0.5, eps)
    peer = np.array([1.0, 0.0])
    q_min = np.minimum(own[:, 0] + 2 * peer, own[:, 0] - peer + 1)
    expected = (alpha * log_pi - q_min).mean()
    assert float(actor_loss(actor, StubCritic(), batch(), alpha, key)) == pytest.approx(
        expected, rel=1e-5)
    # the critic is a constant here: only the actor is differentiated by the learner
    grad = jax.grad(lambda m: actor_loss(m, StubCritic(), batch(), alpha, key))(actor)
    assert float(grad.mean[0]) != 0.0


def test_soft_next_value_by_hand():
    # a' = tanh(−0.2 + e^{−1} ε_a), b' = clip(0.9 + e^0 ε_b, −1, 1) with the key split as
    # (own, peer); V' = min(a' + 2b', a' − b' + 1) − α log π(a').
    actor = StubGaussian(jnp.array([-0.2]), jnp.array([-1.0]))
    decoder = StubGaussian(jnp.array([0.9]), jnp.array([0.0]))
    key, alpha, rows = jax.random.key(5), 0.3, 16
    k_own, k_peer = jax.random.split(key)
    own, log_pi = squashed(-0.2, -1.0, np.asarray(jax.random.normal(k_own, (rows, 1))))
    peer = np.clip(0.9 + np.asarray(jax.random.normal(k_peer, (rows, 1))), -1, 1)
    assert np.any(np.abs(peer) == 1.0)  # the clip is exercised
    expected = np.minimum(own + 2 * peer, own - peer + 1)[:, 0] - alpha * log_pi
    got = soft_next_value(actor, StubCritic(), decoder, jnp.zeros((rows, 1)),
                          jnp.zeros((rows, 1)), alpha, key)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


class FixedEncoder(eqx.Module):
    """Posterior N(z_in + 1, e^{-20}): the latent counts the steps (almost deterministic)."""

    def __call__(self, x):
        return x[:1] + 1.0, jnp.full((1,), -20.0)


def window():
    # three transitions in time order; stored latents z_t = 0, 1, 2; 1-D peer actions
    return {"obs": jnp.zeros((3, 1)), "z": jnp.array([[0.0], [1.0], [2.0]]),
            "own_action": jnp.zeros((3, 1)), "peer_action": jnp.array([[0.0], [0.5], [-0.5]]),
            "reward": jnp.zeros(3), "next_obs": jnp.zeros((3, 1))}


def test_inference_loss_by_hand():
    # Encodes rows 0, 1 -> z_{t+1} = 1, 2; the decoder N(0.25·z, e^{−1}) scores the peer
    # actions of rows 1, 2: 0.5 at mean 0.25 and −0.5 at mean 0.5. KL(q2 ‖ q1) = ½ e^{20}.
    decoder = StubGaussian(jnp.array([0.0]), jnp.array([-1.0]), 0.25)
    total, (nll, kl) = inference_loss(FixedEncoder(), decoder, window(), jax.random.key(0),
                                      False, 1e-9)
    expected_nll = -(normal_log_pdf(np.array([0.5]), 0.25, -1.0)
                     + normal_log_pdf(np.array([-0.5]), 0.5, -1.0)) / 2
    assert float(nll) == pytest.approx(expected_nll, rel=1e-4)
    assert float(kl) == pytest.approx(0.5 * np.exp(20.0), rel=1e-4)
    assert float(total) == pytest.approx(expected_nll + 1e-9 * 0.5 * np.exp(20.0), rel=1e-4)
    # MASAC: zero latent (decoder mean 0), no KL
    total, (nll, kl) = inference_loss(FixedEncoder(), decoder, window(), jax.random.key(0),
                                      False, 0.01, use_latent=0.0)
    expected_nll = -(normal_log_pdf(np.array([0.5]), 0.0, -1.0)
                     + normal_log_pdf(np.array([-0.5]), 0.0, -1.0)) / 2
    assert float(nll) == pytest.approx(expected_nll, rel=1e-5)
    assert float(kl) == 0.0 and float(total) == pytest.approx(expected_nll, rel=1e-5)
