"""The repeated games of the theory-of-mind harness: a payoff tensor from :mod:`envs.games` plus
action names a language model can read and write.

The agent under test is player 0 (rows) and the partner player 1 (columns), so
``payoffs[0, a, b]`` is the agent's reward for its action ``a`` against the partner's ``b``.
Action names are unique words (case-insensitive), which the answer parser relies on.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from envs.games import GAMES

ACTION_NAMES: dict[str, tuple[str, ...]] = {
    "rock_paper_scissors": ("Rock", "Paper", "Scissors"),
    "prisoners_dilemma": ("Cooperate", "Defect"),
    "bach_stravinsky": ("Bach", "Stravinsky"),
    "matching_pennies": ("Heads", "Tails"),
    "stag_hunt": ("Stag", "Hare"),
    "chicken": ("Swerve", "Straight"),
    "coordination": ("Left", "Right"),
}
"""Names of each game's actions (shared by both players: every named game is square)."""

TITLES = {
    "rock_paper_scissors": "rock-paper-scissors",
    "prisoners_dilemma": "the prisoner's dilemma",
    "bach_stravinsky": "Bach or Stravinsky (battle of the sexes)",
    "matching_pennies": "matching pennies",
    "stag_hunt": "the stag hunt",
    "chicken": "chicken",
    "coordination": "a coordination game",
}


@dataclasses.dataclass(frozen=True, eq=False)
class Game:
    """A two-player normal-form game played repeatedly; see the module docstring."""

    name: str
    actions: tuple[str, ...]
    payoffs: np.ndarray  # (2, n, n) float

    @property
    def num_actions(self) -> int:
        return len(self.actions)

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name.replace("_", " "))

    def reward(self, action: int, partner_action: int) -> float:
        """The agent's reward."""
        return float(self.payoffs[0, action, partner_action])

    def best_response(self, partner_action: int) -> int:
        """The agent's best reply to a partner action (ties to the lowest index)."""
        return int(np.argmax(self.payoffs[0, :, partner_action]))


def make_game(name: str) -> Game:
    """The named game (a key of ``ACTION_NAMES``); ``ValueError`` naming the choices otherwise."""
    if name not in ACTION_NAMES:
        raise ValueError(f"unknown game {name!r}; expected one of {', '.join(ACTION_NAMES)}")
    payoffs = np.asarray(GAMES[name], np.float64)
    return Game(name, ACTION_NAMES[name], payoffs)
