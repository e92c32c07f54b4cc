"""Exact MDP analysis (jaxrl.mdp) against power iteration and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import mdp


def random_chain(key, n):
    return jax.nn.softmax(2.0 * jax.random.normal(key, (n, n)), axis=-1)


def test_stationary_matches_long_power_iteration():
    n = 8
    chains = jax.vmap(lambda k: random_chain(k, n))(jax.random.split(jax.random.key(0), 3))
    exact = jax.vmap(mdp.stationary_distribution)(chains)
    iterated = jax.vmap(lambda p: mdp.power_iteration(p, jnp.full(n, 1.0 / n), 500))(chains)
    for p, d_exact, d_iter in zip(np.asarray(chains, np.float64), exact, iterated):
        # long power iteration, in float64 NumPy
        p /= p.sum(-1, keepdims=True)
        d = np.full(n, 1.0 / n)
        for _ in range(5000):
            d = d @ p
        np.testing.assert_allclose(np.asarray(d_exact), d, atol=1e-6)
        np.testing.assert_allclose(np.asarray(d_iter), d, atol=1e-6)


def two_state_mdp(p, q):
    """Action 0 keeps the chain [[1-p, p], [q, 1-q]]; action 1 jumps to the other state.
    Reward 1 in state 0 (whatever the action), 0 in state 1."""
    keep = jnp.array([[1 - p, p], [q, 1 - q]])
    jump = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    p_sa = jnp.stack([keep, jump], axis=1)  # [s, a, s']
    r_sa = jnp.array([[1.0, 1.0], [0.0, 0.0]])
    return p_sa, r_sa


def test_average_reward_of_two_state_chain_by_hand():
    p, q = 0.3, 0.1
    p_sa, r_sa = two_state_mdp(p, q)
    # stay policy: d = (q, p) / (p + q), rho = d0 = q / (p + q) = 0.25
    assert float(mdp.average_reward(p_sa, r_sa, jnp.array([0, 0]))) == pytest.approx(0.25, 1e-5)
    # state 0 keeps, state 1 jumps back: d = (1, p) / (1 + p), rho = 1 / 1.3
    assert float(mdp.average_reward(p_sa, r_sa, jnp.array([0, 1]))) == pytest.approx(1 / 1.3,
                                                                                      1e-5)
    # stochastic: 50/50 in state 1 -> leave rate q' = 0.5 q + 0.5, rho = q'/(p + q')
    stoch = jnp.array([[1.0, 0.0], [0.5, 0.5]])
    qq = 0.5 * q + 0.5
    assert float(mdp.average_reward(p_sa, r_sa, stoch)) == pytest.approx(qq / (p + qq), 1e-5)
    batch = mdp.average_rewards(p_sa, r_sa, jnp.array([[0, 0], [0, 1]]))
    np.testing.assert_allclose(np.asarray(batch), [0.25, 1 / 1.3], rtol=1e-5)


@pytest.mark.parametrize("p,q,eps", [(0.3, 0.1, 0.01), (0.05, 0.02, 0.25), (0.9, 0.6, 0.1)])
def test_mixing_time_of_two_state_chain_closed_form(p, q, eps):
    """max_s TV(Pᵗ(s,·), d) = max(p, q)/(p+q)·|1−p−q|ᵗ, so t_mix is the first t below eps."""
    chain = jnp.array([[1 - p, p], [q, 1 - q]])
    lam = abs(1 - p - q)
    expected = next(t for t in range(10_000) if max(p, q) / (p + q) * lam**t <= eps)
    assert float(mdp.mixing_time(chain, eps)) == expected


def test_mixing_time_vmapped_over_policies_and_unmixed_is_inf():
    p_sa, _ = two_state_mdp(0.3, 0.1)
    times = mdp.policy_mixing_times(p_sa, jnp.array([[0, 0], [1, 1]]), 0.01, 12)
    assert float(times[0]) == float(mdp.mixing_time(jnp.array([[0.7, 0.3], [0.1, 0.9]]), 0.01))
    assert np.isinf(float(times[1]))  # always jumping: periodic, never mixes
