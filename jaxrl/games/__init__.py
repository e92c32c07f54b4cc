"""Game theory and learning peers for iterated bimatrix games (active equilibria, FURTHER).

Nash equilibria (:func:`support_enumeration`), best responses, closed-form returns of memory-1
policies, fixed strategies, learning peers (FURTHER's Q peer, ε-greedy Q, naive policy gradient,
exact LOLA, fictitious play) and the active-equilibrium solver :func:`solve_active`.
"""

from jaxrl.games import strategies
from jaxrl.games.active import ActiveSolution, evaluate_commitments, solve_active
from jaxrl.games.best_response import action_values, best_response, best_response_value
from jaxrl.games.fictitious_play import FictitiousPlay
from jaxrl.games.lola import LOLA, lola_gradient
from jaxrl.games.memory_one import (
                                    average_return,
                                    discounted_return,
                                    stationary,
                                    transition_matrix,
)
from jaxrl.games.nash import Equilibrium, support_enumeration
from jaxrl.games.peer import FixedPeer, Peer, PeerStep
from jaxrl.games.play import PlayRecord, play
from jaxrl.games.policy_gradient import NaivePolicyGradient, naive_gradient
from jaxrl.games.q_learning import EpsilonGreedyQ, FurtherQ

__all__ = [
    "LOLA",
    "ActiveSolution",
    "EpsilonGreedyQ",
    "Equilibrium",
    "FictitiousPlay",
    "FixedPeer",
    "FurtherQ",
    "NaivePolicyGradient",
    "Peer",
    "PeerStep",
    "PlayRecord",
    "action_values",
    "average_return",
    "best_response",
    "best_response_value",
    "discounted_return",
    "evaluate_commitments",
    "lola_gradient",
    "naive_gradient",
    "play",
    "solve_active",
    "stationary",
    "strategies",
    "support_enumeration",
    "transition_matrix",
]
