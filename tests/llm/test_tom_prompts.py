"""Prompts: the game, payoffs and full history are shown; each style asks for its fields."""

import pytest

from llm.tom import make_game
from llm.tom.parser import parse_answer
from llm.tom.prompts import ANSWER_FORMAT, STYLES, act_messages, first_messages

R, P, S = 0, 1, 2


@pytest.mark.parametrize("style", STYLES)
def test_messages_show_payoffs_and_every_round(style):
    game = make_game("rock_paper_scissors")
    system, user = first_messages(style, game, 10, ((P, R), (S, S)))
    assert system["role"] == "system" and user["role"] == "user"
    assert "rock-paper-scissors" in system["content"] and "10 rounds" in system["content"]
    assert "- you Paper, partner Rock: (1, -1)" in system["content"]
    assert "Round 1: you played Paper, your partner played Rock, you got 1." in user["content"]
    assert "Round 2: you played Scissors, your partner played Scissors, you got 0." in \
        user["content"]
    assert "It is round 3 of 10." in user["content"]
    if style == "predict_then_act":
        assert "Prediction:" in user["content"] and "Action:" not in user["content"]
        follow = act_messages([system, user], "Prediction: Rock")[-1]["content"]
        assert follow.endswith("Action: <your action>")
    else:
        assert user["content"].endswith(ANSWER_FORMAT)
    if style == "cot":
        assert "step by step" in user["content"]


def test_the_requested_format_parses():
    game = make_game("prisoners_dilemma")
    filled = ANSWER_FORMAT.replace("<your partner's action>", "Defect").replace(
        "<your action>", "Cooperate")
    assert parse_answer(filled, game.actions) == (1, 0)
    assert "No rounds have been played yet." in first_messages("plain", game, 3, ())[1]["content"]


def test_unknown_style_is_rejected():
    with pytest.raises(ValueError, match="prompt style"):
        first_messages("haiku", make_game("prisoners_dilemma"), 3, ())
