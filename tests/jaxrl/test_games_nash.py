"""Support enumeration finds exactly the textbook equilibria, mixed ones included."""

import numpy as np
import pytest

from envs.games import GAMES, bimatrix
from jaxrl.games import support_enumeration

T = 1 / 3
# (agent 0's mixed strategy, agent 1's, payoffs) for each textbook game.
KNOWN = {
    "bach_stravinsky": [([1, 0], [1, 0], (2, 1)), ([0, 1], [0, 1], (1, 2)),
                        ([2 * T, T], [T, 2 * T], (2 / 3, 2 / 3))],
    "coordination": [([1, 0], [1, 0], (4, 4)), ([0, 1], [0, 1], (8, 8)),
                     ([2 * T, T], [2 * T, T], (8 / 3, 8 / 3))],
    "matching_pennies": [([0.5, 0.5], [0.5, 0.5], (0, 0))],
    "prisoners_dilemma": [([0, 1], [0, 1], (1, 1))],
    "stag_hunt": [([1, 0], [1, 0], (4, 4)), ([0, 1], [0, 1], (2, 2)),
                  ([2 * T, T], [2 * T, T], (8 / 3, 8 / 3))],
    "chicken": [([1, 0], [0, 1], (-1, 1)), ([0, 1], [1, 0], (1, -1)),
                ([0.9, 0.1], [0.9, 0.1], (-0.1, -0.1))],
    "rock_paper_scissors": [([T, T, T], [T, T, T], (0, 0))],
}


def _sorted(equilibria):
    return sorted((tuple(np.round(x, 6)), tuple(np.round(y, 6)), tuple(np.round(v, 6)))
                  for x, y, v in equilibria)


@pytest.mark.parametrize("name", list(KNOWN))
def test_textbook_equilibria(name):
    found = [(e.row, e.column, e.payoffs) for e in support_enumeration(GAMES[name])]
    assert _sorted(found) == _sorted(KNOWN[name])


def test_three_by_three_coordination_has_seven_equilibria():
    # Pure coordination on the identity: 3 pure, 3 two-action mixes, 1 full mix (1/3 each),
    # each mix uniform on its support with payoff 1/|support|.
    found = support_enumeration(bimatrix(np.eye(3), np.eye(3)))
    values = sorted(round(e.payoffs[0], 6) for e in found)
    assert values == [round(1 / 3, 6)] + [0.5] * 3 + [1.0] * 3
    for e in found:
        support = e.row > 0
        np.testing.assert_allclose(e.row[support], 1 / support.sum())
        np.testing.assert_array_equal(e.row, e.column)


def test_rectangular_game_with_a_dominated_column():
    # Column 2 is strictly dominated for agent 1; what is left is matching pennies.
    row = np.array([[1, -1, 0], [-1, 1, 0]])
    column = np.array([[-1, 1, -5], [1, -1, -5]])
    (eq,) = support_enumeration(bimatrix(row, column))
    np.testing.assert_allclose(eq.row, [0.5, 0.5])
    np.testing.assert_allclose(eq.column, [0.5, 0.5, 0])
