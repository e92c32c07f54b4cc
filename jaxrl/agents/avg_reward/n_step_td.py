"""Model-based n-step TD baseline of Riemer et al. (2022; reference ``NTDLearner``): after the
Q-learning update on the real transition, roll the count model forward ``steps`` steps from
``s'`` with greedy actions and move ``Q(s, a)`` toward the n-step return
``r + Σ_{i=1..n} γⁱ r̃ᵢ + γⁿ⁺¹ max Q(s̃ₙ)``. Defaults from the paper's table: ε = 0.2,
α = 0.2, steps = 5; γ = 0.99.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl import config as cfg
from jaxrl.agents.avg_reward import model as mdl
from jaxrl.agents.avg_reward.loop import TabularAgent, make_continual_train
from jaxrl.agents.avg_reward.q_learning import QLearningConfig, greedy_act, q_update


@cfg.config_dataclass
class NStepTDConfig(QLearningConfig):
    steps: int = cfg.static_field(5)
    epsilon: float = 0.2
    lr: float = 0.2

    def __post_init__(self):
        super().__post_init__()
        cfg.positive(self, "steps")


class NStepState(eqx.Module):
    q: jax.Array
    model: mdl.CountModel


def agent(config: NStepTDConfig) -> TabularAgent:
    def init(key, num_states, num_actions, hp=None):
        return NStepState(jnp.zeros((num_states, num_actions), jnp.float32),
                          mdl.init_model(num_states, num_actions))

    def learn(st, s, a, r, s_next, key, hp):
        model = mdl.observe(st.model, s, a, r, s_next)
        q, td = q_update(st.q, s, a, r + hp.gamma * st.q[s_next].max(), hp.lr)

        def rollout(carry, k):
            state, ret, discount = carry
            act = jnp.argmax(q[state])
            rew, nxt = mdl.sample(k, model, state, act)
            discount = discount * hp.gamma
            return (nxt, ret + discount * rew, discount), None

        (last, ret, discount), _ = jax.lax.scan(
            rollout, (s_next, r, jnp.float32(1.0)), jax.random.split(key, config.steps))
        q = q_update(q, s, a, ret + discount * hp.gamma * q[last].max(), hp.lr)[0]
        return NStepState(q, model), td**2

    return TabularAgent(init=init, act=lambda st, s, k, hp: (greedy_act(st.q, s, k, hp.epsilon),
                                                            st),
                        learn=learn, policy=lambda st: jnp.argmax(st.q, axis=-1))


def make_train(config: NStepTDConfig, env=None, env_params=None):
    return make_continual_train(agent(config), config, env, env_params)
