"""Fictitious play (Brown 1951; Robinson 1951) as a peer: it believes agent 0 plays the
empirical frequencies of its past actions and plays a pure best response to that belief on the
stage game (ties to the lowest action). The counts start at ``prior`` per action (a choice:
1, a uniform belief before any observation); the observation state is ignored.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxrl.games.best_response import action_values
from jaxrl.games.peer import Peer, greedy


class FictitiousPlay(Peer):
    prior: float = 1.0

    def init(self, num_actions):
        return jnp.full((num_actions[0],), self.prior, jnp.float32)

    def policy(self, state, s, payoffs):
        return greedy(action_values(payoffs, state / state.sum(), player=1))

    def update(self, state, step):
        return state.at[step.actions[0]].add(1.0)
