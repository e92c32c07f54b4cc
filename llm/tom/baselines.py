"""Baseline agents that bracket an LLM's literal and functional theory of mind.

Every agent has ``reset(context)`` (a :class:`llm.tom.scoring.Context`) and
``act(history) -> Decision`` with ``history`` = ((agent action, partner action), …).

* ``oracle``: knows the partner and its state; predicts its most likely action and plays the
  optimal action of the planner (regret exactly 0 by construction);
* ``literal_only``: the oracle's prediction, a uniformly random action (high accuracy, high
  regret);
* ``frequency``: predicts the partner's most frequent action so far and best-responds to it;
* ``transition``: predicts the partner's most frequent action after the previous joint action
  (falling back to the frequency prediction) and best-responds to it;
* ``rmax``: tabular model-based RL in the style of R-max (Brafman & Tennenholtz, 2002) on the
  observation "previous joint action" (1 + n² states): a state-action pair is known after
  ``known_after`` visits, its model is the empirical distribution of the partner's next action;
  unknown pairs are valued at the maximal reward for every remaining round, and the agent plans
  by finite-horizon value iteration over the remaining rounds (the payoff matrix is given).
  It predicts the most frequent partner action observed in the current state.

Ties go to the lowest action index; before any observation predictions are action 0.
"""

from __future__ import annotations

import numpy as np

from llm.tom.scoring import Context, Decision, partner_state


def _most_likely(probs) -> int:
    return int(np.argmax(np.asarray(probs)))


class Oracle:
    def reset(self, context: Context):
        if context.partner is None or context.planner is None:
            raise ValueError("the oracle needs the context's partner and planner")
        self.context = context

    def act(self, history) -> Decision:
        c = self.context
        state = partner_state(c.partner, history)
        return Decision(_most_likely(c.partner.policy(state)), c.planner.action(len(history),
                                                                                 state))


class LiteralOnly(Oracle):
    def act(self, history) -> Decision:
        c = self.context
        state = partner_state(c.partner, history)
        return Decision(_most_likely(c.partner.policy(state)),
                        int(c.rng.integers(c.game.num_actions)))


class Frequency:
    def reset(self, context: Context):
        self.game = context.game

    def predict(self, history) -> int:
        counts = np.bincount([b for _, b in history], minlength=self.game.num_actions)
        return _most_likely(counts)

    def act(self, history) -> Decision:
        prediction = self.predict(history)
        return Decision(prediction, self.game.best_response(prediction))


class Transition(Frequency):
    def predict(self, history) -> int:
        if len(history) >= 2:
            last = history[-1]
            following = [history[i + 1][1] for i in range(len(history) - 1) if history[i] == last]
            if following:
                return _most_likely(np.bincount(following, minlength=self.game.num_actions))
        return super().predict(history)


class RMax:
    def __init__(self, known_after: int = 2):
        if known_after < 1:
            raise ValueError(f"known_after={known_after} is invalid: expected an integer >= 1")
        self.known_after = known_after

    def reset(self, context: Context):
        self.game, self.rounds = context.game, context.rounds
        n = context.game.num_actions
        self.counts = np.zeros((1 + n * n, n, n))  # [state, own action, partner action]
        self.next_state = 1 + np.arange(n)[:, None] * n + np.arange(n)[None, :]  # [a, b]
        self._seen = 0

    @staticmethod
    def observation(history, n: int) -> int:
        if not history:
            return 0
        a, b = history[-1]
        return 1 + a * n + b

    def _observe(self, history):
        n = self.game.num_actions
        for i in range(self._seen, len(history)):
            a, b = history[i]
            self.counts[self.observation(history[:i], n), a, b] += 1
        self._seen = len(history)

    def q_values(self, state: int, to_go: int) -> np.ndarray:
        """Optimistic finite-horizon values of the current state's actions."""
        rewards = self.game.payoffs[0]
        visits = self.counts.sum(-1)
        known = visits >= self.known_after
        model = self.counts / np.maximum(visits, 1)[..., None]
        values = np.zeros(len(self.counts))
        for k in range(1, to_go + 1):
            backup = np.einsum("sab,ab->sa", model, rewards + values[self.next_state])
            q = np.where(known, backup, rewards.max() * k)
            values = q.max(-1)
        return q[state]

    def act(self, history) -> Decision:
        self._observe(history)
        n = self.game.num_actions
        state = self.observation(history, n)
        seen = self.counts[state].sum(0)
        prediction = _most_likely(seen) if seen.any() else Frequency.predict(self, history)
        q = self.q_values(state, self.rounds - len(history))
        return Decision(prediction, int(np.argmax(q)))


BASELINES = {
    "oracle": Oracle,
    "literal_only": LiteralOnly,
    "frequency": Frequency,
    "transition": Transition,
    "rmax": RMax,
}
"""Baseline factories by name (called with no arguments)."""
