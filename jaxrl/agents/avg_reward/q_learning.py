"""Discounted Q-learning baseline of Riemer et al. (2022; reference ``QLearner``): Watkins'
update ``Q(s,a) ← (1−α)Q(s,a) + α(r + γ max Q(s'))`` on every step of the continuing stream
(no terminal cut), ε-greedy behaviour, Q starting at 0. Defaults from the paper's table:
ε = 0.35, α = 0.5, γ = 0.99. ``loss`` is the squared TD error.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl import config as cfg
from jaxrl.agents.avg_reward.loop import (
    ContinualConfig,
    TabularAgent,
    epsilon_random,
    make_continual_train,
)


@cfg.config_dataclass
class QLearningConfig(ContinualConfig):
    epsilon: float = 0.35
    lr: float = 0.5
    gamma: float = 0.99

    def __post_init__(self):
        super().__post_init__()
        cfg.in_unit_interval(self, "epsilon", "gamma")
        cfg.check(self, "lr", lambda v: (v > 0) & (v <= 1), "a number in (0, 1]")


class QState(eqx.Module):
    q: jax.Array  # [S, A]


def q_update(q, s, a, target, lr):
    """Move ``Q(s, a)`` toward ``target`` by ``lr``; return the table and the TD error."""
    td = target - q[s, a]
    return q.at[s, a].add(lr * td), td


def greedy_act(q, s, key, epsilon):
    """ε-greedy on ``q[s]`` (ties go to the first action, as numpy's argmax)."""
    return epsilon_random(key, jnp.argmax(q[s]), epsilon, q.shape[1])[0]


def init_q(key, num_states, num_actions, hp=None):
    return QState(jnp.zeros((num_states, num_actions), jnp.float32))


def _learn(st, s, a, r, s_next, key, hp):
    q, td = q_update(st.q, s, a, r + hp.gamma * st.q[s_next].max(), hp.lr)
    return QState(q), td**2


def agent(config: QLearningConfig) -> TabularAgent:
    return TabularAgent(init=init_q, act=lambda st, s, key, hp: (greedy_act(st.q, s, key,
                                                                            hp.epsilon), st),
                        learn=_learn, policy=lambda st: jnp.argmax(st.q, axis=-1))


def make_train(config: QLearningConfig, env=None, env_params=None):
    return make_continual_train(agent(config), config, env, env_params)
