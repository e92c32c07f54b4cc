"""Chat prompts that show a language model the history of a repeated game, in three styles.

* ``plain``: the history, then "answer with Prediction: … and Action: …" (one call);
* ``predict_then_act``: first ask for the partner's next action only, then, with the model's
  own prediction in the conversation, ask for its action (two calls);
* ``cot`` (chain of thought): ask it to reason about the partner's strategy step by step first
  and to end with the two labelled lines (one call).

The system message states the game, the horizon and both players' payoffs, so that acting well
needs no knowledge beyond the prompt. The exact wording of the paper's prompts is unverified.
"""

from __future__ import annotations

from llm.tom.games import Game

STYLES = ("plain", "predict_then_act", "cot")

ANSWER_FORMAT = "Prediction: <your partner's action>\nAction: <your action>"


def system_message(game: Game, rounds: int) -> str:
    names = game.actions
    lines = [(f"You are playing {game.title} repeatedly against the same partner for {rounds} "
              f"rounds. In every round both players choose one of: {', '.join(names)}."),
             "Payoffs (your reward, partner's reward):"]
    for a, mine in enumerate(names):
        for b, theirs in enumerate(names):
            lines.append(f"- you {mine}, partner {theirs}: ({game.payoffs[0, a, b]:g}, "
                         f"{game.payoffs[1, a, b]:g})")
    lines.append("Your goal is the largest total reward over all rounds.")
    return "\n".join(lines)


def history_text(game: Game, history) -> str:
    if not history:
        return "No rounds have been played yet."
    names = game.actions
    rows = [f"Round {t + 1}: you played {names[a]}, your partner played {names[b]}, "
            f"you got {game.reward(a, b):g}." for t, (a, b) in enumerate(history)]
    return "History so far:\n" + "\n".join(rows)


def first_messages(style: str, game: Game, rounds: int, history) -> list[dict]:
    """The conversation of the style's first call."""
    if style not in STYLES:
        raise ValueError(f"unknown prompt style {style!r}; expected one of {', '.join(STYLES)}")
    now = f"It is round {len(history) + 1} of {rounds}."
    if style == "plain":
        ask = (f"{now} Predict your partner's action and choose yours. Answer with exactly two "
               f"lines:\n{ANSWER_FORMAT}")
    elif style == "predict_then_act":
        ask = (f"{now} What will your partner play this round? Answer with exactly one line:\n"
               "Prediction: <your partner's action>")
    else:
        ask = (f"{now} Think step by step: what strategy is your partner following, what will "
               "it play this round, and which action maximises your total reward over the "
               f"remaining rounds? After your reasoning, end with exactly two lines:\n"
               f"{ANSWER_FORMAT}")
    return [{"role": "system", "content": system_message(game, rounds)},
            {"role": "user", "content": history_text(game, history) + "\n\n" + ask}]


def act_messages(first: list[dict], prediction_reply: str) -> list[dict]:
    """predict_then_act's second call: the first conversation, the model's reply, the ask."""
    return [*first, {"role": "assistant", "content": prediction_reply},
            {"role": "user", "content": "Now choose your own action for this round. Answer "
                                        "with exactly one line:\nAction: <your action>"}]
