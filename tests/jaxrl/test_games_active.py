"""The active-equilibrium solver: a non-learning peer gives back the ordinary best response,
and a best-responding learner (fictitious play) is steered to the committing agent's favourite
outcome: Bach–Stravinsky 2, coordination 8, matching pennies 0 (vmapped over the games)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.games import GAMES, IteratedGame
from jaxrl.games import FictitiousPlay, FixedPeer, best_response_value, solve_active
from jaxrl.games import strategies as S

NAMES = ["bach_stravinsky", "coordination", "matching_pennies", "prisoners_dilemma"]


def _stacked():
    env = IteratedGame(GAMES[NAMES[0]])
    params = jax.vmap(lambda p: env.default_params.replace(payoffs=p))(
        jnp.stack([GAMES[n] for n in NAMES]))
    return env, params


def test_non_learning_peer_gives_the_ordinary_best_response():
    env, params = _stacked()
    y = np.array([0.35, 0.65], np.float32)
    peer = FixedPeer(S.mixed(y, (2, 2), 1))
    commitments = S.stationary_commitments((2, 2), 4)
    solution = jax.vmap(lambda p: solve_active(env, p, peer, commitments, jax.random.PRNGKey(0),
                                               num_steps=20))(params)
    for i, name in enumerate(NAMES):
        expected = float(best_response_value(GAMES[name], y, player=0))
        np.testing.assert_allclose(solution.value[i], expected, rtol=1e-5)
        assert np.max(solution.commitment[i][0]) == 1.0  # a pure best response


# The smoke test of experiments.active_equilibria checks the same in the default suite.
@pytest.mark.slow
def test_fictitious_play_is_steered_to_the_committers_favourite():
    env, params = _stacked()
    commitments = S.stationary_commitments((2, 2), 4)
    solution = jax.vmap(lambda p: solve_active(env, p, FictitiousPlay(), commitments,
                                               jax.random.PRNGKey(0), num_steps=100,
                                               num_seeds=2))(params)
    # Nash equilibria give agent 0 at most 2, 8, 0 and 1.
    np.testing.assert_allclose(solution.value, [2.0, 8.0, 0.0, 1.0], atol=1e-6)
    np.testing.assert_array_equal(solution.commitment[:, 0], [[1, 0], [0, 1], [0.5, 0.5], [0, 1]])
