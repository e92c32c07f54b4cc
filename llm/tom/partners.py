"""Partner policies with explicit internal state for the repeated games (Riemer et al., 2024).

A partner is a frozen object bound to a :class:`~llm.tom.games.Game` with three pure methods:

* ``init() -> state``: its initial internal state (hashable, so the optimal-policy dynamic
  programme in :mod:`llm.tom.optimal` can enumerate reachable states);
* ``policy(state) -> probs``: its action probabilities (a tuple over the game's actions);
* ``update(state, own, other) -> state``: the state after a round in which it played ``own``
  and the agent played ``other``.

Randomness lives outside (the episode runner samples from ``policy``), so a partner is a pure
function of the interaction history. ``deterministic`` partners put probability 1 on one action.

Memory-1 partners (constant, tit-for-tat, win-stay-lose-shift, beat-your-last, biased and
uniform random) are tables over the previous joint action from :mod:`jaxrl.games.strategies`
(state 0 = start, ``1 + a·n + b`` after the agent played ``a`` and the partner ``b``).
Choices where the paper is silent: tit-for-tat and win-stay-lose-shift open with the first
action; "beat your last" opens with the first action and then plays the partner's best reply to
the agent's previous action; the cycle visits the actions in order (R→P→S); biased random puts
``bias`` (0.7) on the first action and spreads the rest evenly; fictitious play starts from one
pseudo-count per action; the Q-learner is stateless (a bandit over its own actions) with
α = 0.3, ε = 0.1 and zero initial values, ties to the lowest index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from jaxrl.games import strategies
from llm.tom.games import Game


def _one_hot(i: int, n: int) -> tuple[float, ...]:
    return tuple(1.0 if j == i else 0.0 for j in range(n))


@dataclasses.dataclass(frozen=True, eq=False)
class MemoryOne:
    """A partner whose action distribution depends only on the previous joint action."""

    name: str
    game: Game
    table: tuple[tuple[float, ...], ...]  # (1 + n·n, n)

    @property
    def deterministic(self) -> bool:
        return all(max(row) == 1.0 for row in self.table)

    def init(self):
        return 0

    def policy(self, state):
        return self.table[state]

    def update(self, state, own, other):
        return 1 + other * self.game.num_actions + own


@dataclasses.dataclass(frozen=True, eq=False)
class Cycle:
    """Plays ``order[0], order[1], …`` round after round, regardless of the agent."""

    name: str
    game: Game
    order: tuple[int, ...]
    deterministic = True

    def init(self):
        return 0

    def policy(self, state):
        return _one_hot(self.order[state], self.game.num_actions)

    def update(self, state, own, other):
        return (state + 1) % len(self.order)


@dataclasses.dataclass(frozen=True, eq=False)
class FictitiousPlay:
    """Best reply (its own payoffs) to the empirical frequencies of the agent's past actions;
    the state is the tuple of counts (with ``prior`` pseudo-counts folded into ``policy``)."""

    name: str
    game: Game
    prior: float = 1.0
    deterministic = True

    def init(self):
        return (0,) * self.game.num_actions

    def policy(self, state):
        payoffs = self.game.payoffs[1]
        n = self.game.num_actions
        values = [sum((c + self.prior) * payoffs[a, b] for a, c in enumerate(state))
                  for b in range(n)]  # proportional to the expected payoff of each reply
        return _one_hot(values.index(max(values)), n)

    def update(self, state, own, other):
        return tuple(c + (i == other) for i, c in enumerate(state))


@dataclasses.dataclass(frozen=True, eq=False)
class QLearning:
    """A stateless ε-greedy Q-learner over its own actions: ``Q[own] += α (r − Q[own])``.
    The state is the tuple of values, so its reachable set grows with every round."""

    name: str
    game: Game
    alpha: float = 0.3
    epsilon: float = 0.1
    deterministic = False
    finite_state = False  # tells the planner not to enumerate its states

    def init(self):
        return (0.0,) * self.game.num_actions

    def policy(self, state):
        n = self.game.num_actions
        greedy = _one_hot(int(np.argmax(state)), n)
        return tuple((1 - self.epsilon) * g + self.epsilon / n for g in greedy)

    def update(self, state, own, other):
        reward = float(self.game.payoffs[1, other, own])
        return tuple(q + self.alpha * (reward - q) if i == own else q
                     for i, q in enumerate(state))


def _table(array) -> tuple[tuple[float, ...], ...]:
    """A float64 tuple table from a float32 strategy table (rounded back to 7 decimals, so that
    0.7 stays 0.7, and renormalised)."""
    rows = np.round(np.asarray(array, np.float64), 7)
    rows = rows / rows.sum(axis=1, keepdims=True)
    return tuple(tuple(float(p) for p in row) for row in rows)


def beat_your_last(game: Game) -> np.ndarray:
    """Memory-1 table: the partner's best reply to the agent's previous action."""
    n = game.num_actions
    table = strategies.always(0, (n, n), player=1)
    for a in range(n):
        reply = int(np.argmax(game.payoffs[1, a, :]))
        for b in range(n):
            table[1 + a * n + b] = np.eye(n)[reply]
    return table


def biased(game: Game, bias: float = 0.7) -> np.ndarray:
    n = game.num_actions
    probs = np.full(n, (1 - bias) / (n - 1))
    probs[0] = bias
    return strategies.mixed(probs, (n, n), player=1)


PARTNERS: dict[str, Callable[[Game], object]] = {
    "constant": lambda g: MemoryOne("constant", g,
                                    _table(strategies.always(0, (g.num_actions,) * 2, 1))),
    "cycle": lambda g: Cycle("cycle", g, tuple(range(g.num_actions))),
    "tit_for_tat": lambda g: MemoryOne("tit_for_tat", g,
                                       _table(strategies.tit_for_tat((g.num_actions,) * 2, 1))),
    "beat_your_last": lambda g: MemoryOne("beat_your_last", g, _table(beat_your_last(g))),
    "win_stay_lose_shift": lambda g: MemoryOne(
        "win_stay_lose_shift", g, _table(strategies.win_stay_lose_shift(g.payoffs, 1))),
    "biased_random": lambda g: MemoryOne("biased_random", g, _table(biased(g))),
    "uniform": lambda g: MemoryOne("uniform", g, _table(
        strategies.mixed(np.full(g.num_actions, 1 / g.num_actions), (g.num_actions,) * 2, 1))),
    "fictitious_play": lambda g: FictitiousPlay("fictitious_play", g),
    "q_learning": lambda g: QLearning("q_learning", g),
}
"""Partner factories by name; the constant partner always plays the game's first action."""


def make_partner(name: str, game: Game):
    if name not in PARTNERS:
        raise ValueError(f"unknown partner {name!r}; expected one of {', '.join(PARTNERS)}")
    return PARTNERS[name](game)
