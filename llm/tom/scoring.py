"""Playing one episode and scoring it: literal accuracy, functional regret and their gap.

* literal accuracy: the fraction of rounds in which the agent's predicted partner action equals
  the partner's actual action (a missing prediction counts as wrong);
* functional regret: ``Σ_t V_t(s_t) − Q_t(s_t, a_t)`` at the partner's true state ``s_t``, with
  the optimal values of :class:`llm.tom.optimal.Planner` (see there for exact vs lookahead
  mode). Against a deterministic partner in exact mode it equals the optimal return minus the
  realised return; against a random one it is the expected (pseudo-)regret, free of the noise of
  the partner's draws;
* optimal-action rate: the fraction of rounds whose action was optimal (regret 0 up to 1e-9),
  the functional counterpart of accuracy; ``gap = accuracy − optimal_action_rate`` is how much
  better the agent predicts than it acts.

The partner's action in round ``t`` is drawn before the agent answers, from its own generator,
so every agent meets the same partner draws for a given seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from llm.tom.games import Game
from llm.tom.optimal import Planner

OPTIMAL_TOLERANCE = 1e-9


@dataclasses.dataclass(frozen=True)
class Decision:
    """An agent's answer in one round: predicted partner action (None when it gave none),
    own action, whether its output parsed, and its raw text (LLM agents only)."""

    prediction: int | None
    action: int
    valid: bool = True
    text: str | None = None


@dataclasses.dataclass(frozen=True)
class Round:
    """One row of the per-round log."""

    t: int
    action: int
    partner_action: int
    prediction: int | None
    reward: float
    regret: float
    correct: bool
    optimal: bool
    valid: bool
    text: str | None = None


@dataclasses.dataclass(frozen=True)
class Episode:
    rounds: tuple[Round, ...]
    exact: bool  # whether the planner solved the whole horizon

    @property
    def accuracy(self) -> float:
        return float(np.mean([r.correct for r in self.rounds]))

    @property
    def regret(self) -> float:
        return float(sum(r.regret for r in self.rounds))

    @property
    def optimal_action_rate(self) -> float:
        return float(np.mean([r.optimal for r in self.rounds]))

    @property
    def gap(self) -> float:
        return self.accuracy - self.optimal_action_rate

    @property
    def invalid_rate(self) -> float:
        return float(np.mean([not r.valid for r in self.rounds]))

    @property
    def total_reward(self) -> float:
        return float(sum(r.reward for r in self.rounds))

    def summary(self) -> dict[str, float]:
        return {"accuracy": self.accuracy, "regret": self.regret,
                "optimal_action_rate": self.optimal_action_rate, "gap": self.gap,
                "invalid_rate": self.invalid_rate, "return": self.total_reward}


@dataclasses.dataclass(frozen=True)
class Context:
    """What an agent is given at the start of an episode. ``partner`` and ``planner`` are
    privileged: only the oracle and literal-only baselines may look at them."""

    game: Game
    rounds: int
    rng: np.random.Generator
    partner: object = None
    planner: Planner | None = None


def partner_state(partner, history) -> object:
    """The partner's state after ``history`` [(agent action, partner action)]."""
    state = partner.init()
    for a, b in history:
        state = partner.update(state, b, a)
    return state


def play(game: Game, partner, agent, rounds: int, seed: int, planner: Planner | None = None
         ) -> Episode:
    """Play ``rounds`` rounds of ``game`` between ``agent`` and ``partner`` and score them.

    ``agent.reset(context)`` starts the episode; ``agent.act(history) -> Decision`` is called
    each round with the history so far as [(agent action, partner action)]. ``planner`` may be
    shared by every episode with the same game, partner and horizon.
    """
    if planner is None:
        planner = Planner(game, partner, rounds)
    elif planner.rounds != rounds:
        raise ValueError(f"planner.rounds={planner.rounds} differs from rounds={rounds}")
    partner_rng, agent_rng = (np.random.default_rng(s)
                              for s in np.random.SeedSequence(seed).spawn(2))
    agent.reset(Context(game, rounds, agent_rng, partner, planner))
    n = game.num_actions
    state, history, log = partner.init(), [], []
    for t in range(rounds):
        probs = np.asarray(partner.policy(state), np.float64)
        b = int(partner_rng.choice(n, p=probs / probs.sum()))
        decision = agent.act(tuple(history))
        a = decision.action
        if not 0 <= a < n:
            raise ValueError(f"agent {type(agent).__name__} returned action {a!r}: expected an "
                             f"index in [0, {n})")
        q = planner.q_values(t, state)
        regret = float(q.max() - q[a])
        log.append(Round(t, a, b, decision.prediction, game.reward(a, b), regret,
                         decision.prediction == b, regret <= OPTIMAL_TOLERANCE, decision.valid,
                         decision.text))
        history.append((a, b))
        state = partner.update(state, b, a)
    return Episode(tuple(log), planner.exact)
