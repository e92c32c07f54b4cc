"""Renewal age chains and task-sequence chains against closed forms."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.mdp import mixing_time, stationary_distribution
from jaxrl.mdp.renewal import age_chain, bin_edges, task_sequence_chain


def truncated_geometric(p: float, max_len: int) -> np.ndarray:
    """Episode-length law P(L = l) ∝ p (1 − p)^(l − 1), l = 1 … max_len (index = length)."""
    probs = np.zeros(max_len + 1)
    probs[1:] = p * (1 - p) ** np.arange(max_len)
    return probs / probs.sum()


def test_unlumped_age_chain_of_geometric_lengths():
    """One bin per age: the episode ends from age a with the hazard P(L = a + 1 | L > a) and
    otherwise ages by one; the stationary law is P(L > a) normalised."""
    lengths = truncated_geometric(0.2, 12)
    p, d = age_chain(lengths * 1000, num_bins=64)
    assert p.shape == (12, 12)
    # Hazard of the truncated law: p / (1 − (1 − p)^(n − a)), reaching 1 at the last age.
    ages = np.arange(12)
    np.testing.assert_allclose(p[:, 0], 0.2 / (1 - 0.8 ** (12 - ages)), rtol=1e-12)
    np.testing.assert_allclose(np.diag(p, 1), 1 - p[:-1, 0], rtol=1e-12)
    survival = 1 - np.cumsum(lengths)[:12]
    np.testing.assert_allclose(d, survival / survival.sum(), rtol=1e-12)
    np.testing.assert_allclose(p[-1, 0], 1.0)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(stationary_distribution(jnp.asarray(p, jnp.float32))),
                               d, atol=1e-5)


def test_lumping_keeps_the_stationary_mass_of_each_bin():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 50, size=300).astype(float)
    counts[0] = 0
    _, d_fine = age_chain(counts, num_bins=10_000)
    coarse, d_coarse = age_chain(counts, num_bins=12)
    edges = bin_edges(len(d_fine), 12)
    sums = np.add.reduceat(d_fine, edges[:-1])
    np.testing.assert_allclose(d_coarse, sums, rtol=1e-10)
    np.testing.assert_allclose(d_coarse @ coarse, d_coarse, atol=1e-12)


def test_two_task_sequence_mixes_as_the_closed_form():
    """Two one-state games: the chain flips task with probability s = 1/T, so the distance to
    the uniform law after t steps is |1 − 2s|^t / 2 and t_mix(1/4) = ⌈ln(1/2) / ln(1 − 2s)⌉."""
    one = age_chain(np.array([0.0, 1.0]))
    assert one[0].shape == (1, 1)
    for period in (4, 10, 50):
        chain = task_sequence_chain([one, one], period)
        expected = math.ceil(math.log(0.5) / math.log(1 - 2 / period))
        assert float(mixing_time(jnp.asarray(chain, jnp.float32))) == expected


def test_mixing_time_grows_with_tasks_and_period():
    game = age_chain(truncated_geometric(0.05, 200) * 1e4, num_bins=16)
    tmix = {(k, t): float(mixing_time(jnp.asarray(task_sequence_chain([game] * k, t),
                                                  jnp.float32)))
            for k in (2, 4) for t in (50, 200)}
    assert tmix[4, 50] > tmix[2, 50] and tmix[2, 200] > tmix[2, 50]


def test_bad_input():
    with pytest.raises(ValueError, match="length_counts"):
        age_chain(np.array([5.0, 0.0]))
    with pytest.raises(ValueError, match="switch_every"):
        task_sequence_chain([age_chain(np.array([0.0, 1.0]))], 0.5)
