"""The named iterated games and their registry entries.

| name (``make_game``) | registry name | actions | agent 0 ``[AA, AB, BA, BB]`` | agent 1 |
|---|---|---|---|---|
| bach_stravinsky | Iterated-BachStravinsky | A=Bach, B=Stravinsky | [2, 0, 0, 1] | [1, 0, 0, 2] |
| coordination | Iterated-Coordination | | [4, 0, 0, 8] | [4, 0, 0, 8] |
| matching_pennies | Iterated-MatchingPennies | A=heads, B=tails | [1, −1, −1, 1] | negated |
| prisoners_dilemma | Iterated-PrisonersDilemma | A=cooperate B=defect | [3, 0, 5, 1] | [3, 5, 0, 1] |
| stag_hunt | Iterated-StagHunt | A=stag, B=hare | [4, 0, 3, 2] | [4, 3, 0, 2] |
| chicken | Iterated-Chicken | A=swerve, B=straight | [0, −1, 1, −10] | [0, 1, −1, −10] |
| rock_paper_scissors | Iterated-RockPaperScissors | rock paper scissors | win 1 lose −1 | negated |

The first three are FURTHER's IBS, IC and IMP (Kim et al., 2022, reference code). The paper
fixes no values for the others; these are textbook choices: Axelrod's prisoner's dilemma
(T 5, R 3, P 1, S 0), a stag hunt with a hare–hare payoff of 2 (so that the game is
nondegenerate) and a chicken game whose crash costs 10.
"""

from __future__ import annotations

import numpy as np

from envs.games.iterated import GameParams, IteratedGame
from envs.games.payoffs import bimatrix, zero_sum
from envs.registry import register, replace_params


def _two_by_two(row, column):
    return bimatrix(np.reshape(row, (2, 2)), np.reshape(column, (2, 2)))


GAMES: dict[str, np.ndarray] = {
    "bach_stravinsky": _two_by_two([2, 0, 0, 1], [1, 0, 0, 2]),
    "coordination": _two_by_two([4, 0, 0, 8], [4, 0, 0, 8]),
    "matching_pennies": zero_sum(np.reshape([1, -1, -1, 1], (2, 2))),
    "prisoners_dilemma": _two_by_two([3, 0, 5, 1], [3, 5, 0, 1]),
    "stag_hunt": _two_by_two([4, 0, 3, 2], [4, 3, 0, 2]),
    "chicken": _two_by_two([0, -1, 1, -10], [0, 1, -1, -10]),
    "rock_paper_scissors": zero_sum([[0, -1, 1], [1, 0, -1], [-1, 1, 0]]),
}

REGISTRY_NAMES: dict[str, str] = {
    name: "Iterated-" + "".join(part.capitalize() for part in name.split("_")) for name in GAMES
}


def make_game(name: str, **overrides) -> tuple[IteratedGame, GameParams]:
    """``(env, params)`` of the named game (a key of ``GAMES`` or its registry name).

    ``overrides`` set fields of :class:`GameParams` (``payoffs``, ``max_steps_in_episode``); new
    payoffs may change the number of actions.
    """
    by_registry = {v: k for k, v in REGISTRY_NAMES.items()}
    key = by_registry.get(name, name)
    if key not in GAMES:
        raise ValueError(
            f"unknown game {name!r}; expected one of {', '.join(GAMES)} "
            f"(or {', '.join(REGISTRY_NAMES.values())})"
        )
    params = replace_params(GameParams(payoffs=GAMES[key]), overrides, name)
    env = IteratedGame(params.payoffs, name=REGISTRY_NAMES[key])
    return env, env.default_params.replace(max_steps_in_episode=params.max_steps_in_episode)


for _name in REGISTRY_NAMES.values():
    register(_name, lambda _n=_name, **overrides: make_game(_n, **overrides))
