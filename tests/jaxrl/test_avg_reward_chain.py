"""The Sherman–Morrison policy chain of the ρ agents against exact solves."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl import mdp
from jaxrl.agents.avg_reward import chain as ch


def test_deviation_gains_and_row_updates_match_exact_solves():
    n, a = 6, 3
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    p_sa = jax.nn.softmax(jax.random.normal(k1, (n, a, n)), axis=-1)
    r_sa = jax.random.uniform(k2, (n, a))
    policy = jax.random.randint(k3, (n,), 0, a)
    idx = jnp.arange(n)
    chain = ch.build(p_sa[idx, policy], r_sa[idx, policy])
    np.testing.assert_allclose(float(ch.gain(chain)),
                               float(mdp.average_reward(p_sa, r_sa, policy)), atol=1e-6)
    for s in range(n):
        gains = ch.deviation_gains(chain, s, p_sa[s], r_sa[s])
        exact = [mdp.average_reward(p_sa, r_sa, policy.at[s].set(b)) for b in range(a)]
        np.testing.assert_allclose(np.asarray(gains), np.asarray(exact), atol=1e-5)
        # apply the best deviation by a rank-one update; compare with a fresh inverse
        best = int(jnp.argmax(gains))
        policy = policy.at[s].set(best)
        chain = ch.set_row(chain, s, p_sa[s, best], r_sa[s, best])
        np.testing.assert_allclose(np.asarray(chain.inv), np.asarray(ch.refresh(chain).inv),
                                   atol=1e-4)
    np.testing.assert_allclose(float(ch.gain(chain)),
                               float(mdp.average_reward(p_sa, r_sa, policy)), atol=1e-5)


def test_polish_squares_the_error_of_a_drifted_inverse():
    n = 8
    p = jax.nn.softmax(jax.random.normal(jax.random.key(1), (n, n)), axis=-1)
    chain = ch.build(p, jnp.zeros(n))
    a = np.asarray(mdp.normalisation_system(p), np.float64)
    exact = np.linalg.inv(a)
    drifted = ch.PolicyChain(chain.p, chain.r,
                             chain.inv + 1e-3 * jax.random.normal(jax.random.key(2), (n, n)))

    def residual(c):
        return np.abs(np.eye(n) - a @ np.asarray(c.inv, np.float64)).max()

    before, after = residual(drifted), residual(ch.polish(drifted))
    assert before > 1e-3 and after < 10 * before**2 + 1e-6, (before, after)
    np.testing.assert_allclose(np.asarray(ch.polish(ch.polish(drifted)).inv), exact, atol=1e-5)
