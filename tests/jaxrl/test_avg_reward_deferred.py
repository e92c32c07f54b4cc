"""Deferred row replacements of the ρ agents' chain against eager Sherman–Morrison updates and
exact solves."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl import mdp
from jaxrl.agents.avg_reward import chain as ch
from jaxrl.agents.avg_reward import deferred as dfr

N, A = 7, 3


def random_problem(seed):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    p_sa = jax.nn.softmax(jax.random.normal(k1, (N, A, N)), axis=-1)
    r_sa = jax.random.uniform(k2, (N, A))
    policy = jax.random.randint(k3, (N,), 0, A)
    return p_sa, r_sa, policy


def test_deferred_replacements_match_eager_updates_and_exact_solves():
    p_sa, r_sa, policy = random_problem(0)
    idx = jnp.arange(N)
    eager = ch.build(p_sa[idx, policy], r_sa[idx, policy])
    dc = dfr.defer(eager, 6)
    for s in (3, 0, 3, 5, 6, 3):  # state 3 three times
        bu = dfr.solve(dc, dfr.column_change(dc, s, p_sa[s]))
        gains = ch.gains_of(dfr.stationary(dc), dc.chain.r, s, bu, r_sa[s])
        exact = [mdp.average_reward(p_sa, r_sa, policy.at[s].set(b)) for b in range(A)]
        np.testing.assert_allclose(np.asarray(gains), np.asarray(exact), atol=1e-5)
        np.testing.assert_allclose(np.asarray(gains),
                                   np.asarray(ch.deviation_gains(eager, s, p_sa[s], r_sa[s])),
                                   atol=1e-6)
        best = (int(jnp.argmax(gains)) + s) % A  # not always the best: rows really change
        policy = policy.at[s].set(best)
        dc = dfr.set_row(dc, s, p_sa[s, best], r_sa[s, best], bu[best])
        eager = ch.set_row(eager, s, p_sa[s, best], r_sa[s, best])
        np.testing.assert_allclose(float(dfr.gain(dc)),
                                   float(mdp.average_reward(p_sa, r_sa, policy)), atol=1e-5)
    flushed = dfr.flush(dc)
    np.testing.assert_allclose(np.asarray(flushed.inv), np.asarray(eager.inv), atol=1e-5)
    np.testing.assert_allclose(np.asarray(flushed.inv), np.asarray(ch.refresh(flushed).inv),
                               atol=1e-4)
    np.testing.assert_array_equal(np.asarray(flushed.p), np.asarray(eager.p))


def test_set_rows_equals_one_replacement_after_another():
    p_sa, r_sa, policy = random_problem(1)
    idx = jnp.arange(N)
    start = ch.build(p_sa[idx, policy], r_sa[idx, policy])
    states = jnp.array([2, 4, 2, 0, 4, 2])  # repeats: the last row of a state stays
    rows = jax.nn.softmax(jax.random.normal(jax.random.key(2), (6, N)), axis=-1)
    rs = jax.random.uniform(jax.random.key(3), (6,))
    dc = jax.jit(dfr.set_rows)(dfr.set_row(dfr.defer(start, 9), 1, p_sa[1, 0], r_sa[1, 0]),
                               states, rows, rs)  # two slots unused
    eager = ch.set_row(start, 1, p_sa[1, 0], r_sa[1, 0])
    for j in range(6):
        eager = ch.set_row(eager, int(states[j]), rows[j], rs[j])
    np.testing.assert_array_equal(np.asarray(dfr.row(dc, jnp.arange(N))), np.asarray(eager.p))
    flushed = jax.jit(dfr.flush)(dc)
    np.testing.assert_array_equal(np.asarray(flushed.p), np.asarray(eager.p))
    np.testing.assert_array_equal(np.asarray(flushed.r), np.asarray(eager.r))
    np.testing.assert_allclose(np.asarray(flushed.inv), np.asarray(eager.inv), atol=1e-5)
    np.testing.assert_allclose(np.asarray(flushed.inv), np.asarray(ch.refresh(eager).inv),
                               atol=1e-4)
    np.testing.assert_allclose(np.asarray(dfr.stationary(dc)),
                               np.asarray(ch.stationary(ch.refresh(eager))), atol=1e-5)
