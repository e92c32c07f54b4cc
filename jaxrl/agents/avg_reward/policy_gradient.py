"""Policy-gradient baseline of Riemer et al. (2022; reference ``PolicyGradientLearner``): a
softmax policy ``π = softmax(θ)`` (θ standard normal at the start) and a Q-learning critic; each
step takes one gradient step of size ``lr`` on ``−log π(a|s)·Q(s, a)`` after the critic's
update at rate ``q_lr``. Defaults: ε = 0.1 and policy lr = 0.01 (the paper's table);
q_lr = 0.3 (the reference's command-line default; the table gives one lr only); γ = 0.99.
``loss`` is the policy loss.
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
from jaxrl.agents.avg_reward.q_learning import q_update


@cfg.config_dataclass
class PolicyGradientConfig(ContinualConfig):
    epsilon: float = 0.1
    lr: float = 0.01
    q_lr: float = 0.3
    gamma: float = 0.99

    def __post_init__(self):
        super().__post_init__()
        cfg.in_unit_interval(self, "epsilon", "gamma")
        cfg.positive(self, "lr")
        cfg.check(self, "q_lr", lambda v: (v > 0) & (v <= 1), "a number in (0, 1]")


class PGState(eqx.Module):
    q: jax.Array  # [S, A] critic
    theta: jax.Array  # [S, A] logits


def agent(config: PolicyGradientConfig) -> TabularAgent:
    def init(key, num_states, num_actions, hp=None):
        return PGState(jnp.zeros((num_states, num_actions), jnp.float32),
                       jax.random.normal(key, (num_states, num_actions)))

    def act(st, s, key, hp):
        k_e, k_pi = jax.random.split(key)
        sampled = jax.random.categorical(k_pi, st.theta[s])
        return epsilon_random(k_e, sampled, hp.epsilon, st.theta.shape[1])[0], st

    def learn(st, s, a, r, s_next, key, hp):
        q, _ = q_update(st.q, s, a, r + hp.gamma * st.q[s_next].max(), hp.q_lr)
        grad_row = jax.nn.softmax(st.theta[s]) - jax.nn.one_hot(a, st.theta.shape[1])
        loss = -jax.nn.log_softmax(st.theta[s])[a] * q[s, a]
        theta = st.theta.at[s].add(-hp.lr * q[s, a] * grad_row)
        return PGState(q, theta), loss

    return TabularAgent(init=init, act=act, learn=learn,
                        policy=lambda st: jax.nn.softmax(st.theta, axis=-1))


def make_train(config: PolicyGradientConfig, env=None, env_params=None):
    return make_continual_train(agent(config), config, env, env_params)
