"""Action distributions: pre-drawn noise reproduces ``sample(key)``; densities against scipy."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from jaxrl.distributions import Categorical, DiagGaussian


def test_categorical_sample_with_noise_is_jax_categorical():
    logits = jax.random.normal(jax.random.key(0), (64, 5))
    dist = Categorical(logits)
    for i in range(5):
        key = jax.random.key(i)
        expected = jax.random.categorical(key, dist.logits)
        got = dist.sample_with(Categorical.noise(key, logits.shape))
        np.testing.assert_array_equal(got, expected)


def test_categorical_noise_samples_follow_the_softmax():
    logits = jnp.array([0.0, 1.0, -1.0, 2.0])
    noise = Categorical.noise(jax.random.key(1), (20000, 4))
    counts = np.bincount(np.asarray(Categorical(logits).sample_with(noise)), minlength=4)
    expected = np.asarray(jax.nn.softmax(logits), np.float64)
    expected = expected / expected.sum() * counts.sum()
    assert stats.chisquare(counts, expected).pvalue > 1e-3


def test_diag_gaussian_sample_with_noise_and_log_prob():
    mean = jnp.array([[0.5, -1.0], [2.0, 0.0]])
    log_std = jnp.array([0.1, -0.3])
    dist = DiagGaussian(mean, log_std)
    key = jax.random.key(2)
    np.testing.assert_allclose(dist.sample(key),
                               dist.sample_with(DiagGaussian.noise(key, mean.shape)))
    action = jnp.array([[0.0, 0.0], [1.0, 1.0]])
    expected = stats.norm.logpdf(np.asarray(action), np.asarray(mean),
                                 np.exp(np.asarray(log_std))).sum(-1)
    np.testing.assert_allclose(dist.log_prob(action), expected, rtol=1e-5)
