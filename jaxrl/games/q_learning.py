"""Q-learning peers: FURTHER's stateless tabular Q peer and ε-greedy tabular Q-learning.

``FurtherQ`` is the peer of FURTHER's IBS experiment (reference code
``algorithm/tabular_q/agent.py``): one Q value per own action, ignoring the observation,
initialised to ``q_init`` (FURTHER: [10, 20], preferring B), ε-greedy with ε = 0.05, and on the
latest transition the loss ``(Q(a) − (r + γ max_b Q(b)))²`` with SGD at learning rate 0.5, whose
step is ``Q(a) ← Q(a) − 0.5 · 2 (Q(a) − target)``: the replacement ``Q(a) ← r + γ max Q`` with
γ = 0.9. Here the step is ``Q(a) += lr (target − Q(a))`` with ``lr = 1`` (equal to FURTHER's SGD
step 0.5 on the squared error). FURTHER freezes the peer until its step counter reaches the
batch size 256 (``frozen_steps``, default 0 here). For other than two actions ``q_init`` must be
given (FURTHER has only two).

``EpsilonGreedyQ`` is Watkins' Q-learning on the observation state (previous joint action):
``Q(s, a) += lr (r + γ max_b Q(s', b) − Q(s, a))``, Q = 0 initially, ε-greedy. Defaults (lr 0.1,
γ 0.9, ε 0.1) are choices; the papers give none.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from jaxrl.games.memory_one import num_states
from jaxrl.games.peer import Peer, epsilon_greedy


class FurtherQ(Peer):
    q_init: tuple[float, ...] = eqx.field(static=True, default=(10.0, 20.0))
    frozen_steps: int = eqx.field(static=True, default=0)
    epsilon: float = 0.05
    gamma: float = 0.9
    lr: float = 1.0

    def init(self, num_actions):
        if len(self.q_init) != num_actions[1]:
            raise ValueError(f"FurtherQ.q_init={self.q_init} has {len(self.q_init)} values: the "
                             f"peer has {num_actions[1]} actions")
        return {"q": jnp.asarray(self.q_init, jnp.float32), "t": jnp.zeros((), jnp.int32)}

    def policy(self, state, s, payoffs):
        return epsilon_greedy(state["q"], self.epsilon)

    def update(self, state, step):
        q, a = state["q"], step.actions[1]
        target = step.reward + self.gamma * jnp.max(q)
        learning = state["t"] >= self.frozen_steps
        q = q.at[a].add(jnp.where(learning, self.lr * (target - q[a]), 0.0))
        return {"q": q, "t": state["t"] + 1}


class EpsilonGreedyQ(Peer):
    lr: float = 0.1
    gamma: float = 0.9
    epsilon: float = 0.1

    def init(self, num_actions):
        return jnp.zeros((num_states(*num_actions), num_actions[1]), jnp.float32)

    def policy(self, state, s, payoffs):
        return epsilon_greedy(state[s], self.epsilon)

    def update(self, state, step):
        a = step.actions[1]
        target = step.reward + self.gamma * jnp.max(state[step.next_state])
        return state.at[step.state, a].add(self.lr * (target - state[step.state, a]))
