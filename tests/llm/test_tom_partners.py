"""Partner policies traced by hand, and the baselines' characteristic behaviour."""

import numpy as np
import pytest

from llm.tom import BASELINES, PARTNERS, Planner, make_game, make_partner, play

C, D = 0, 1
R, P, S = 0, 1, 2


def trace(partner, agent_actions):
    """The partner's (most likely) actions against a fixed sequence of agent actions."""
    state, out = partner.init(), []
    for a in agent_actions:
        b = int(np.argmax(partner.policy(state)))
        out.append(b)
        state = partner.update(state, b, a)
    return out


RPS_TRACES = {
    "constant": [R, R, R, R, R],
    "cycle": [R, P, S, R, P],
    "tit_for_tat": [R, P, P, S, R],  # copies the agent's previous action
    "beat_your_last": [R, S, S, R, P],  # beats the agent's previous action
    "fictitious_play": [R, S, S, S, S],  # counts (0,1,0), (0,2,0), (0,2,1), (1,2,1): beat Paper
}


@pytest.mark.parametrize("name", RPS_TRACES)
def test_rock_paper_scissors_traces(name):
    game = make_game("rock_paper_scissors")
    assert trace(make_partner(name, game), [P, P, S, R, R]) == RPS_TRACES[name]


def test_win_stay_lose_shift_is_pavlov_in_the_prisoners_dilemma():
    """Stay after R (3) or T (5), shift after S (0) or P (1)."""
    game = make_game("prisoners_dilemma")
    # its rewards: CC 3 (stay), agent D → 0 (shift to D), DD 1 (shift to C), CC 3 (stay),
    # agent D → 0 (shift to D), agent C while it defects → 5 (stay)
    assert trace(make_partner("win_stay_lose_shift", game), [C, D, D, C, D, C]) == [
        C, C, D, C, C, D]


def test_q_learner_update_and_epsilon_greedy_policy():
    game = make_game("prisoners_dilemma")
    q = make_partner("q_learning", game)
    state = q.update(q.init(), D, C)  # it defected against a cooperator: reward 5
    assert state == pytest.approx((0.0, 0.3 * 5))
    assert q.policy(state) == pytest.approx((0.05, 0.95))


def test_random_partners_probabilities():
    game = make_game("rock_paper_scissors")
    assert make_partner("biased_random", game).policy(0) == pytest.approx((0.7, 0.15, 0.15))
    assert make_partner("uniform", game).policy(4) == pytest.approx((1 / 3,) * 3)
    assert not make_partner("uniform", game).deterministic
    assert make_partner("tit_for_tat", game).deterministic


def test_partner_draws_follow_the_policy():
    game = make_game("rock_paper_scissors")
    episode = play(game, make_partner("biased_random", game), BASELINES["frequency"](), 400, 0)
    share = np.mean([r.partner_action == R for r in episode.rounds])
    assert abs(share - 0.7) < 5 * np.sqrt(0.7 * 0.3 / 400)


def test_literal_only_predicts_perfectly_and_acts_badly():
    game, rounds = make_game("rock_paper_scissors"), 30
    for name in ("constant", "cycle", "beat_your_last"):
        episode = play(game, make_partner(name, game), BASELINES["literal_only"](), rounds, 0)
        assert episode.accuracy == 1.0
        assert episode.optimal_action_rate < 0.7 and episode.regret > 0
        assert episode.gap > 0.3


def test_frequency_and_transition_predictors():
    game, rounds = make_game("rock_paper_scissors"), 30
    rock, cycle = make_partner("constant", game), make_partner("cycle", game)
    freq = play(game, rock, BASELINES["frequency"](), rounds, 0)
    assert freq.accuracy == 1.0 and freq.regret == 0.0  # predicts Rock, plays Paper
    # the cycle defeats the frequency predictor; the transition predictor (conditioned on the
    # previous joint action) is right once each joint action it meets has been followed once:
    # by hand, its predictions are R R R R P R | R P S R P S ...
    trans = play(game, cycle, BASELINES["transition"](), rounds, 0)
    assert [r.prediction for r in trans.rounds[:6]] == [R, R, R, R, P, R]
    assert all(r.correct and r.optimal for r in trans.rounds[6:])
    assert play(game, cycle, BASELINES["frequency"](), rounds, 0).accuracy < 0.5


@pytest.mark.parametrize("partner_name", ["constant", "cycle", "tit_for_tat", "beat_your_last"])
def test_rmax_stops_losing_once_its_model_is_known(partner_name):
    """R-max explores each reachable (state, action) pair known_after times, then plays the
    optimal memory-1 response: its regret in the second half of a long game is 0."""
    game, rounds = make_game("rock_paper_scissors"), 60
    partner = make_partner(partner_name, game)
    episode = play(game, partner, BASELINES["rmax"](), rounds, 0, Planner(game, partner, rounds))
    late = episode.rounds[rounds // 2:-1]  # the very last round has no future to plan for
    assert sum(r.regret for r in late) == 0.0
    assert episode.regret > 0  # it did have to explore


def test_every_partner_runs_in_every_game():
    for game_name in ("bach_stravinsky", "matching_pennies", "stag_hunt", "chicken"):
        game = make_game(game_name)
        for name in PARTNERS:
            episode = play(game, make_partner(name, game), BASELINES["oracle"](), 6, 0)
            assert episode.regret == 0.0
