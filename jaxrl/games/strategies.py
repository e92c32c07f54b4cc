"""Fixed strategies as memory-1 policies ``(S, n)`` (see :mod:`jaxrl.games.memory_one`), and
the commitment sets the active-equilibrium solver searches.

* ``always(a)``: action ``a`` in every state (always-A is ``always(0)``);
* ``tit_for_tat(player)``: the first action at the start, then the other agent's previous
  action (square games only);
* ``win_stay_lose_shift(payoffs, player)``: at the start the first action; then repeat the own
  previous action after a "win" and switch after a "loss". A win is a reward at least the mean
  of the own payoff matrix (the paper-free choice that makes this Pavlov in the prisoner's
  dilemma: stay after R or T, shift after S or P); "switch" is the next action cyclically;
* ``simplex_grid(n, resolution)``: every mixed strategy whose probabilities are multiples of
  ``1/resolution``;
* ``deterministic_memory_one(n, m, player)``: all ``n^S`` pure memory-1 policies.
"""

from __future__ import annotations

import itertools

import numpy as np

from jaxrl.games.memory_one import num_states


def _states(num_actions: tuple[int, int]):
    """``[(s, a0, a1)]`` for the non-start states."""
    n, m = num_actions
    return [(1 + a0 * m + a1, a0, a1) for a0 in range(n) for a1 in range(m)]


def always(action: int, num_actions: tuple[int, int], player: int) -> np.ndarray:
    n_own = num_actions[player]
    if not 0 <= action < n_own:
        raise ValueError(f"action={action} is invalid: agent {player} has {n_own} actions")
    policy = np.zeros((num_states(*num_actions), n_own), np.float32)
    policy[:, action] = 1.0
    return policy


def mixed(strategy, num_actions: tuple[int, int], player: int) -> np.ndarray:
    strategy = np.asarray(strategy, np.float32)
    if strategy.shape != (num_actions[player],) or np.any(strategy < 0) or not np.isclose(
            strategy.sum(), 1.0):
        raise ValueError(f"strategy={strategy.tolist()} is invalid: expected "
                         f"{num_actions[player]} probabilities summing to 1")
    return np.tile(strategy, (num_states(*num_actions), 1))


def tit_for_tat(num_actions: tuple[int, int], player: int) -> np.ndarray:
    if num_actions[0] != num_actions[1]:
        raise ValueError(f"tit-for-tat needs a square game, got actions {num_actions}")
    policy = always(0, num_actions, player)
    for s, a0, a1 in _states(num_actions):
        policy[s] = np.eye(num_actions[player])[a1 if player == 0 else a0]
    return policy


def win_stay_lose_shift(payoffs, player: int) -> np.ndarray:
    payoffs = np.asarray(payoffs, np.float32)
    num_actions = payoffs.shape[1:]
    own = payoffs[player]
    aspiration = own.mean()
    policy = always(0, num_actions, player)
    n_own = num_actions[player]
    for s, a0, a1 in _states(num_actions):
        mine = a0 if player == 0 else a1
        stay = own[a0, a1] >= aspiration
        policy[s] = np.eye(n_own)[mine if stay else (mine + 1) % n_own]
    return policy


def simplex_grid(num_actions: int, resolution: int) -> np.ndarray:
    """``(K, n)`` mixed strategies on the grid of step ``1/resolution`` (pure ones included)."""
    if resolution < 1:
        raise ValueError(f"resolution={resolution} is invalid: expected an integer >= 1")
    points = [c for c in itertools.product(range(resolution + 1), repeat=num_actions)
              if sum(c) == resolution]
    return np.asarray(points, np.float32) / resolution


def stationary_commitments(num_actions: tuple[int, int], resolution: int,
                           player: int = 0) -> np.ndarray:
    """``(K, S, n)``: the grid of ``simplex_grid`` as memory-1 policies."""
    grid = simplex_grid(num_actions[player], resolution)
    return np.repeat(grid[:, None, :], num_states(*num_actions), axis=1)


def deterministic_memory_one(num_actions: tuple[int, int], player: int = 0) -> np.ndarray:
    """``(n^S, S, n)``: every pure memory-1 policy (32 in a 2 × 2 game)."""
    s, n_own = num_states(*num_actions), num_actions[player]
    if n_own ** s > 100_000:
        raise ValueError(f"{n_own}^{s} pure memory-1 policies are too many to enumerate")
    choices = np.asarray(list(itertools.product(range(n_own), repeat=s)))
    return np.eye(n_own, dtype=np.float32)[choices]
