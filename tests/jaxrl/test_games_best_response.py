"""Best responses against fixed strategies, checked by hand."""

import jax
import jax.numpy as jnp
import numpy as np

from envs.games import GAMES
from jaxrl.games import action_values, best_response, best_response_value


def test_best_response_against_fixed_strategies():
    bos = GAMES["bach_stravinsky"]
    # Agent 1 plays Stravinsky for sure: agent 0 gets 0 from Bach, 1 from Stravinsky.
    action, value = best_response(bos, jnp.array([0.0, 1.0]), player=0)
    assert (int(action), float(value)) == (1, 1.0)
    # Against agent 1's (3/4, 1/4): Bach pays 2·3/4 = 1.5, Stravinsky 1/4.
    np.testing.assert_allclose(action_values(bos, jnp.array([0.75, 0.25]), 0), [1.5, 0.25])
    # Agent 1 against agent 0's (0.2, 0.8): Bach pays 0.2, Stravinsky 2·0.8 = 1.6.
    action, value = best_response(bos, jnp.array([0.2, 0.8]), player=1)
    assert int(action) == 1 and np.isclose(float(value), 1.6)


def test_best_response_in_matching_pennies_and_rps_vmapped():
    # The column agent mismatches: against heads with prob p its values are (1 - 2p, 2p - 1).
    p = jnp.array([0.1, 0.7])
    strategies = jnp.stack([p, 1 - p], axis=1)
    actions, values = jax.vmap(lambda s: best_response(GAMES["matching_pennies"], s, 1))(strategies)
    np.testing.assert_array_equal(actions, [0, 1])
    np.testing.assert_allclose(values, [0.8, 0.4], rtol=1e-6)
    # Rock-paper-scissors against always-rock: paper wins 1.
    assert float(best_response_value(GAMES["rock_paper_scissors"], jnp.eye(3)[0], 0)) == 1.0
    assert int(best_response(GAMES["rock_paper_scissors"], jnp.eye(3)[0], 0)[0]) == 1
