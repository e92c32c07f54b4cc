"""Closed-form discounted and average returns of memory-1 policies, against hand-computed
cycles and against long simulations through the environment."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from envs.games import GAMES, make_game
from jaxrl.games import FixedPeer, average_return, discounted_return, play
from jaxrl.games import strategies as S

GAMMA = 0.9


def test_hand_computed_cycles():
    pd = GAMES["prisoners_dilemma"]
    # Always-cooperate vs tit-for-tat: mutual cooperation (3, 3) forever.
    pi0, pi1 = S.always(0, (2, 2), 0), S.tit_for_tat((2, 2), 1)
    np.testing.assert_allclose(discounted_return(pd, pi0, pi1, GAMMA), [30, 30], rtol=1e-5)
    np.testing.assert_allclose(average_return(pd, pi0, pi1), [3, 3], rtol=1e-5)
    # Always-defect vs tit-for-tat: (D, C) once, then (D, D): row 5 + γ/(1-γ)·1.
    pi0 = S.always(1, (2, 2), 0)
    np.testing.assert_allclose(discounted_return(pd, pi0, pi1, GAMMA), [5 + 9, 0 + 9], rtol=1e-5)
    np.testing.assert_allclose(average_return(pd, pi0, pi1), [1, 1], rtol=1e-5)
    # A period-4 cycle in matching pennies: agent 0 copies agent 1's last action, agent 1 plays
    # the opposite of agent 0's last one: AA, AB, BB, BA, AA, ... pays agent 0 1, −1, 1, −1.
    mp = GAMES["matching_pennies"]
    pi0 = S.tit_for_tat((2, 2), 0)
    pi1 = 1.0 - S.tit_for_tat((2, 2), 1)
    pi1[0] = [1.0, 0.0]
    np.testing.assert_allclose(discounted_return(mp, pi0, pi1, GAMMA),
                               [1 / (1 + GAMMA), -1 / (1 + GAMMA)], rtol=1e-5)
    np.testing.assert_allclose(average_return(mp, pi0, pi1), [0, 0], atol=1e-6)


def test_closed_forms_match_long_simulations():
    env, params = make_game("bach_stravinsky", max_steps_in_episode=10**9)
    rng = np.random.default_rng(0)
    pi0 = rng.dirichlet([1, 1], size=5).astype(np.float32)
    pi1 = rng.dirichlet([1, 1], size=5).astype(np.float32)
    peer = FixedPeer(pi1)

    @partial(jax.jit, static_argnums=1)
    def simulate(keys, num_steps):
        return jax.vmap(lambda k: play(env, params, pi0, peer, k, num_steps).rewards)(keys)

    # One batch of 2048 runs of 150 steps. Discounted return: the whole run (γ^150 < 2e-7).
    rewards = np.asarray(simulate(jax.random.split(jax.random.PRNGKey(0), 2048), 150))
    returns = (rewards * GAMMA ** np.arange(150)[None, :, None]).sum(1)
    error = returns.std(0) / np.sqrt(len(returns))
    closed = np.asarray(discounted_return(params.payoffs, pi0, pi1, GAMMA))
    assert np.all(np.abs(returns.mean(0) - closed) < 4 * error), (returns.mean(0), closed)
    # Average reward: the chain is ergodic and mixes within a few steps, so the mean reward of
    # steps 50-149 estimates the long-run average (runs are independent: standard error).
    per_run = rewards[:, 50:].mean(1)
    error = per_run.std(0) / np.sqrt(len(per_run))
    closed = np.asarray(average_return(params.payoffs, pi0, pi1))
    assert np.all(np.abs(per_run.mean(0) - closed) < 4 * error + 1e-3), (per_run.mean(0), closed)


def test_stationary_strategies_give_the_stage_game_value():
    x, y = jnp.array([0.3, 0.7]), jnp.array([0.6, 0.4])
    bos = GAMES["bach_stravinsky"]
    stage = np.array([x @ bos[0] @ y, x @ bos[1] @ y])
    pi0, pi1 = S.mixed(x, (2, 2), 0), S.mixed(y, (2, 2), 1)
    np.testing.assert_allclose(average_return(bos, pi0, pi1), stage, rtol=1e-5)
    np.testing.assert_allclose(discounted_return(bos, pi0, pi1, GAMMA), stage / (1 - GAMMA),
                               rtol=1e-5)
