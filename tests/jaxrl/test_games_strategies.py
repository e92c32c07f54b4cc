"""Fixed memory-1 strategies and the commitment sets, against hand-written tables."""

import numpy as np
import pytest

from envs.games import GAMES
from jaxrl.games import strategies as S

C, D = [1.0, 0.0], [0.0, 1.0]


def test_tit_for_tat_and_pavlov_in_the_prisoners_dilemma():
    # States: start, CC, CD, DC, DD (agent 0's action first).
    np.testing.assert_array_equal(S.tit_for_tat((2, 2), 0), [C, C, D, C, D])
    np.testing.assert_array_equal(S.tit_for_tat((2, 2), 1), [C, C, C, D, D])
    # Pavlov: cooperate after CC or DD, defect after CD or DC (for either agent).
    pavlov = [C, C, D, D, C]
    np.testing.assert_array_equal(S.win_stay_lose_shift(GAMES["prisoners_dilemma"], 0), pavlov)
    np.testing.assert_array_equal(S.win_stay_lose_shift(GAMES["prisoners_dilemma"], 1), pavlov)


def test_always_and_mixed_and_their_errors():
    np.testing.assert_array_equal(S.always(2, (3, 3), 1), np.tile([0, 0, 1], (10, 1)))
    np.testing.assert_allclose(S.mixed([0.25, 0.75], (2, 3), 0), np.tile([0.25, 0.75], (7, 1)))
    with pytest.raises(ValueError, match="action=2"):
        S.always(2, (2, 2), 0)
    with pytest.raises(ValueError, match="summing to 1"):
        S.mixed([0.5, 0.6], (2, 2), 0)
    with pytest.raises(ValueError, match="square"):
        S.tit_for_tat((2, 3), 0)


def test_commitment_sets():
    grid = S.simplex_grid(3, 4)
    assert grid.shape == (15, 3)  # C(4 + 2, 2)
    np.testing.assert_allclose(grid.sum(1), 1.0)
    assert [0.5, 0.5] in S.simplex_grid(2, 4).tolist()
    assert S.stationary_commitments((2, 2), 4).shape == (5, 5, 2)
    pure = S.deterministic_memory_one((2, 2))
    assert pure.shape == (32, 5, 2)
    assert len({p.argmax(1).tobytes() for p in pure}) == 32
    assert any(np.array_equal(p, S.tit_for_tat((2, 2), 0)) for p in pure)
