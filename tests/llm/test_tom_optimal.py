"""The optimal policy against a known partner: hand-computed values and brute force."""

import itertools

import numpy as np
import pytest

from llm.tom import (
    BASELINES,
    PARTNERS,
    Planner,
    make_game,
    make_partner,
    partner_state,
    play,
)

C, D = 0, 1
ROCK, PAPER, SCISSORS = 0, 1, 2
DETERMINISTIC = ("constant", "cycle", "tit_for_tat", "beat_your_last", "win_stay_lose_shift",
                 "fictitious_play")


def test_prisoners_dilemma_against_tit_for_tat_by_hand():
    """Cooperate and earn 3 per round; only in the last round does defecting pay (5 > 3, with no
    retaliation left), so the finite-horizon optimum is 3(T − 1) + 5."""
    game, rounds = make_game("prisoners_dilemma"), 12
    tft = make_partner("tit_for_tat", game)
    planner = Planner(game, tft, rounds)
    assert planner.exact and planner.value == 3 * (rounds - 1) + 5
    oracle = play(game, tft, BASELINES["oracle"](), rounds, seed=0, planner=planner)
    assert [r.action for r in oracle.rounds] == [C] * (rounds - 1) + [D]
    assert [r.reward for r in oracle.rounds[:-1]] == [3.0] * (rounds - 1)
    # with k ≥ 3 rounds to go after mutual cooperation, Q(C) = 3k + 2 and Q(D) = 3k + 1
    after_cc = tft.update(tft.init(), C, C)
    for t in range(1, rounds - 2):
        k = rounds - t
        np.testing.assert_allclose(planner.q_values(t, after_cc), [3 * k + 2, 3 * k + 1])


def test_rock_paper_scissors_against_constant_rock_by_hand():
    game, rounds = make_game("rock_paper_scissors"), 10
    rock = make_partner("constant", game)
    planner = Planner(game, rock, rounds)
    assert planner.value == rounds
    state = rock.init()
    for t in range(rounds):
        to_go = rounds - t - 1
        np.testing.assert_allclose(planner.q_values(t, state), np.array([0, 1, -1]) + to_go)
        assert planner.action(t, state) == PAPER
        state = rock.update(state, ROCK, PAPER)


@pytest.mark.parametrize("game_name, partner_name, per_round", [
    ("rock_paper_scissors", "biased_random", 0.7 - 0.15),  # Paper against 70% Rock
    ("prisoners_dilemma", "uniform", 0.5 * 5 + 0.5 * 1),  # defect against a coin
    ("rock_paper_scissors", "uniform", 0.0),
])
def test_stochastic_memoryless_partners_expected_value(game_name, partner_name, per_round):
    game = make_game(game_name)
    planner = Planner(game, make_partner(partner_name, game), 7)
    assert planner.exact
    assert planner.value == pytest.approx(7 * per_round)


@pytest.mark.parametrize("game_name", ["prisoners_dilemma", "rock_paper_scissors",
                                       "bach_stravinsky"])
@pytest.mark.parametrize("partner_name", DETERMINISTIC)
def test_value_matches_brute_force_over_action_sequences(game_name, partner_name):
    """Against a deterministic partner an open-loop sequence is as good as any policy."""
    game, rounds = make_game(game_name), 4
    partner = make_partner(partner_name, game)
    best = -np.inf
    for actions in itertools.product(range(game.num_actions), repeat=rounds):
        state, total = partner.init(), 0.0
        for a in actions:
            b = int(np.argmax(partner.policy(state)))
            total += game.payoffs[0, a, b]
            state = partner.update(state, b, a)
        best = max(best, total)
    assert Planner(game, partner, rounds).value == pytest.approx(best)


@pytest.mark.parametrize("partner_name", list(PARTNERS))
@pytest.mark.parametrize("game_name", ["rock_paper_scissors", "prisoners_dilemma",
                                       "matching_pennies"])
def test_oracle_regret_is_exactly_zero(game_name, partner_name):
    game = make_game(game_name)
    episode = play(game, make_partner(partner_name, game), BASELINES["oracle"](), 15, seed=3)
    assert episode.regret == 0.0
    assert episode.optimal_action_rate == 1.0


@pytest.mark.parametrize("partner_name", DETERMINISTIC)
def test_regret_is_optimal_minus_realised_return_against_deterministic_partners(partner_name):
    game, rounds = make_game("rock_paper_scissors"), 9
    partner = make_partner(partner_name, game)
    planner = Planner(game, partner, rounds)
    episode = play(game, partner, BASELINES["literal_only"](), rounds, seed=1, planner=planner)
    assert episode.regret == pytest.approx(planner.value - episode.total_reward)
    assert episode.regret > 0  # random actions are not optimal here
    assert all(r.regret >= 0 for r in episode.rounds)


def test_learning_partner_falls_back_to_lookahead():
    game = make_game("rock_paper_scissors")
    q = make_partner("q_learning", game)
    planner = Planner(game, q, 30, lookahead=2)
    assert not planner.exact and planner.value is None
    # two rounds ahead of the last: the lookahead is the whole remaining game
    exact_tail = Planner(game, q, 2)
    np.testing.assert_allclose(planner.q_values(28, q.init()), exact_tail.q_values(0, q.init()))
    # a finite-state partner over the state budget also falls back
    assert not Planner(game, make_partner("fictitious_play", game), 30, max_states=50).exact


def test_partner_state_replays_the_history():
    game = make_game("rock_paper_scissors")
    fp = make_partner("fictitious_play", game)
    assert partner_state(fp, [(PAPER, ROCK), (PAPER, SCISSORS), (ROCK, ROCK)]) == (1, 2, 0)


def test_bad_arguments_name_the_field():
    game = make_game("prisoners_dilemma")
    with pytest.raises(ValueError, match="rounds"):
        Planner(game, make_partner("constant", game), 0)
    with pytest.raises(ValueError, match="unknown partner"):
        make_partner("nobody", game)
    with pytest.raises(ValueError, match="unknown game"):
        make_game("go")
