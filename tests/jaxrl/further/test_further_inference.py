"""Latent-strategy inference: the Gaussian KL against torch.distributions, the prior chaining
(each posterior's prior is the previous one; N(0, I) only at the first update) and the decoder
likelihood against a hand-computed value."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxrl.further.inference import chained_kl, gaussian_kl, inference_loss

MEAN = np.array([[0.0, 1.0], [0.5, -1.0], [2.0, 0.0]], np.float32)
LOGVAR = np.array([[0.0, -1.0], [0.3, 0.0], [-0.5, 1.0]], np.float32)


def torch_kl(mq, lq, mp, lp):
    q = torch.distributions.Normal(torch.tensor(mq), torch.tensor(np.exp(0.5 * lq)))
    p = torch.distributions.Normal(torch.tensor(mp), torch.tensor(np.exp(0.5 * lp)))
    return torch.distributions.kl_divergence(q, p).sum(-1).numpy()


def test_gaussian_kl_matches_torch():
    got = gaussian_kl(MEAN[1:], LOGVAR[1:], MEAN[:-1], LOGVAR[:-1])
    np.testing.assert_allclose(got, torch_kl(MEAN[1:], LOGVAR[1:], MEAN[:-1], LOGVAR[:-1]),
                               rtol=1e-5)
    assert float(gaussian_kl(MEAN[0], LOGVAR[0], MEAN[0], LOGVAR[0])) == pytest.approx(0.0)


def test_prior_chaining():
    # later updates: KL(q1 ‖ q0), KL(q2 ‖ q1), averaged over the 2 pairs
    pairs = torch_kl(MEAN[1:], LOGVAR[1:], MEAN[:-1], LOGVAR[:-1])
    assert float(chained_kl(MEAN, LOGVAR, False)) == pytest.approx(pairs.mean(), rel=1e-5)
    # first update: the first posterior's prior is N(0, I), giving 3 terms
    first = torch_kl(MEAN[:1], LOGVAR[:1], np.zeros((1, 2), np.float32),
                     np.zeros((1, 2), np.float32))
    expected = (pairs.sum() + first.sum()) / 3
    assert float(chained_kl(MEAN, LOGVAR, True)) == pytest.approx(expected, rel=1e-5)


class FixedEncoder(eqx.Module):
    """Posterior N(z_in + 1, e^{-20}): the latent counts the steps (almost deterministic)."""

    def __call__(self, x):
        return x[:1] + 1.0, jnp.full((1,), -20.0)


class LatentDecoder(eqx.Module):
    """Peer-action logits (0, w·z) from [obs (1), z (1)]."""

    w: jax.Array

    def __call__(self, x):
        return jnp.stack([0.0, self.w * x[1]])


def window():
    # three transitions in time order; stored latents z_t = 0, 1, 2; peer actions B, B, A
    return {"obs": jnp.zeros((3, 1)), "z": jnp.array([[0.0], [1.0], [2.0]]),
            "own_action": jnp.array([0, 0, 0]), "peer_action": jnp.array([1, 1, 0]),
            "reward": jnp.zeros(3), "next_obs": jnp.zeros((3, 1))}


def test_inference_loss_by_hand():
    # Encodes rows 0, 1 -> z_{t+1} = 1, 2; decodes peer actions of rows 1, 2 (B, A) with logits
    # (0, z): −log p = −log σ(1) for B at z = 1 and −log(1 − σ(2)) for A at z = 2.
    # The posteriors N(1, e^-20), N(2, e^-20) are far apart: KL(q2 ‖ q1) = ½ e^{20}.
    decoder = LatentDecoder(jnp.float32(1.0))
    total, (nll, kl) = inference_loss(FixedEncoder(), decoder, window(), jax.random.key(0),
                                      False, 1e-9)
    sig = lambda v: 1 / (1 + np.exp(-v))
    expected_nll = -(np.log(sig(1.0)) + np.log(1 - sig(2.0))) / 2
    assert float(nll) == pytest.approx(expected_nll, rel=1e-4)
    assert float(kl) == pytest.approx(0.5 * np.exp(20.0), rel=1e-4)
    assert float(total) == pytest.approx(expected_nll + 1e-9 * 0.5 * np.exp(20.0), rel=1e-4)


def test_masac_has_no_latent():
    # use_latent = 0: z = 0 for the decoder, logits (0, 0), nll = log 2; no KL.
    total, (nll, kl) = inference_loss(FixedEncoder(), LatentDecoder(jnp.float32(1.0)), window(),
                                      jax.random.key(0), False, 0.01, use_latent=0.0)
    assert float(nll) == pytest.approx(np.log(2.0), rel=1e-6)
    assert float(kl) == 0.0 and float(total) == pytest.approx(np.log(2.0), rel=1e-6)
