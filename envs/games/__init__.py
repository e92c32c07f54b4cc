"""Iterated matrix games (FURTHER's IBS/IC/IMP and textbook games) as multi-agent environments.

Importing this package registers ``Iterated-<Game>`` names with :func:`envs.make`;
:func:`make_game` also takes the short names of ``GAMES``.
"""

from envs.games.iterated import AGENTS, GameParams, GameState, IteratedGame, joint_index
from envs.games.named import GAMES, REGISTRY_NAMES, make_game
from envs.games.payoffs import bimatrix, swap_players, validate_payoffs, zero_sum

__all__ = [
    "AGENTS",
    "GAMES",
    "REGISTRY_NAMES",
    "GameParams",
    "GameState",
    "IteratedGame",
    "bimatrix",
    "joint_index",
    "make_game",
    "swap_players",
    "validate_payoffs",
    "zero_sum",
]
