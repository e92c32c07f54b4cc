"""The optimal policy against a known partner, by dynamic programming over its internal state.

Against a partner with state ``s``, policy ``π(·|s)`` and update ``s' = u(s, b, a)``, the
optimal expected return over the remaining ``T − t`` rounds satisfies

    Q_t(s, a) = Σ_b π(b|s) [R(a, b) + V_{t+1}(u(s, b, a))],   V_t(s) = max_a Q_t(s, a),  V_T = 0.

**Exact mode.** The states reachable from ``init()`` are enumerated round by round (layer ``t``
holds every state the partner can be in before round ``t``) and the recursion is solved backwards.
This is exact for every finite-state partner, deterministic (the paper's tit-for-tat: always
cooperate, 3 per round) or stochastic (memory-1 random partners; the value is then the optimal
*expected* return), and for fictitious play, whose count states grow polynomially.

**Lookahead mode** (a choice; the paper does not say how it scores learning partners). When the
reachable layers would exceed ``max_states`` states in total, or the partner declares
``finite_state = False`` (the ε-greedy Q-learner, whose real-valued state branches every
round), ``q_values(t, s)`` solves the same recursion from ``s`` over the next
``min(lookahead, T − t)`` rounds only. Regret against a learning partner is then measured
against this receding-horizon planner, which the oracle also follows (so its regret stays 0).

Per-round regret (:mod:`llm.tom.scoring`) is ``V_t(s_t) − Q_t(s_t, a_t)`` at the partner's true
state: non-negative, zero for an optimal action, and in exact mode its sum over an episode
against a deterministic partner is exactly ``V_0(s_0) −`` the realised return.
"""

from __future__ import annotations

import numpy as np

from llm.tom.games import Game


class _TooManyStates(Exception):
    pass


def _solve(game: Game, partner, start, rounds: int, max_states: int | None):
    """Backward induction over the layers reachable from ``start`` in ``rounds`` rounds.
    Returns one dict per round mapping a state to its Q-values ``(n,)``."""
    n = game.num_actions
    moves: dict = {}  # state -> [(b, π(b|s), [u(s, b, a) for a])]

    def _moves(s):
        if s not in moves:
            probs = partner.policy(s)
            total = float(sum(probs))
            moves[s] = [(b, p / total, [partner.update(s, b, a) for a in range(n)])
                        for b, p in enumerate(probs) if p > 0]
        return moves[s]

    layers, total = [{start}], 1
    for _ in range(rounds - 1):
        nxt = set()
        for s in layers[-1]:
            for _, _, successors in _moves(s):
                nxt.update(successors)
            if max_states is not None and total + len(nxt) > max_states:
                raise _TooManyStates
        total += len(nxt)
        layers.append(nxt)
    rewards = game.payoffs[0].tolist()
    q_tables: list[dict] = [{} for _ in range(rounds)]
    values_next: dict = {}
    for t in reversed(range(rounds)):
        values = {}
        last = t + 1 == rounds
        for s in layers[t]:
            q = [0.0] * n
            for b, p, successors in _moves(s):
                for a in range(n):
                    future = 0.0 if last else values_next[successors[a]]
                    q[a] += p * (rewards[a][b] + future)
            q_tables[t][s] = np.asarray(q)
            values[s] = max(q)
        values_next = values
    return q_tables


class Planner:
    """Optimal Q-values against ``partner`` over ``rounds`` rounds (see the module docstring).

    ``exact`` tells which mode applies; ``value`` is the optimal expected return from the start
    (exact mode only, else None)."""

    def __init__(self, game: Game, partner, rounds: int, *, max_states: int = 200_000,
                 lookahead: int = 3):
        if rounds < 1:
            raise ValueError(f"rounds={rounds} is invalid: expected an integer >= 1")
        if lookahead < 1:
            raise ValueError(f"lookahead={lookahead} is invalid: expected an integer >= 1")
        self.game, self.partner, self.rounds, self.lookahead = game, partner, rounds, lookahead
        self._cache: dict = {}
        try:
            if not getattr(partner, "finite_state", True):
                raise _TooManyStates
            self._tables = _solve(game, partner, partner.init(), rounds, max_states)
            self.exact = True
            self.value = float(self._tables[0][partner.init()].max())
        except _TooManyStates:
            self._tables, self.exact, self.value = None, False, None

    def q_values(self, t: int, state) -> np.ndarray:
        """``Q_t(state, ·)``: the optimal expected return of each action now, then optimal play."""
        if not 0 <= t < self.rounds:
            raise ValueError(f"round t={t} is outside [0, {self.rounds})")
        if self.exact:
            try:
                return self._tables[t][state]
            except KeyError:
                raise ValueError(f"partner state {state!r} is not reachable before round {t}") \
                    from None
        key = (t, state)
        if key not in self._cache:
            depth = min(self.lookahead, self.rounds - t)
            self._cache[key] = _solve(self.game, self.partner, state, depth, None)[0][state]
        return self._cache[key]

    def action(self, t: int, state) -> int:
        """An optimal action (ties to the lowest index)."""
        return int(np.argmax(self.q_values(t, state)))
