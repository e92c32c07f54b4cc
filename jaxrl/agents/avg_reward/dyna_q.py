"""Dyna-Q baseline of Riemer et al. (2022; reference ``DynaLearner``; Sutton 1990): Q-learning on
the real transition, then ``steps`` planning updates, each at a uniformly drawn previously
visited state with a uniformly drawn action previously taken there, ``(r, s')`` sampled from
the count model (``model``). Defaults from the paper's table: ε = 0.25, α = 0.35, steps = 5;
γ = 0.99.
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
class DynaQConfig(QLearningConfig):
    steps: int = cfg.static_field(5)
    epsilon: float = 0.25
    lr: float = 0.35

    def __post_init__(self):
        super().__post_init__()
        cfg.positive(self, "steps")


class DynaState(eqx.Module):
    q: jax.Array
    model: mdl.CountModel
    taken: jax.Array  # [S, A] whether the pair was ever taken


def agent(config: DynaQConfig) -> TabularAgent:
    def init(key, num_states, num_actions, hp=None):
        return DynaState(jnp.zeros((num_states, num_actions), jnp.float32),
                         mdl.init_model(num_states, num_actions),
                         jnp.zeros((num_states, num_actions), bool))

    def learn(st, s, a, r, s_next, key, hp):
        model = mdl.observe(st.model, s, a, r, s_next)
        taken = st.taken.at[s, a].set(True)
        q, td = q_update(st.q, s, a, r + hp.gamma * st.q[s_next].max(), hp.lr)
        visited = taken.any(-1)

        def plan(q, k):
            k_s, k_a, k_m = jax.random.split(k, 3)
            ps = jax.random.categorical(k_s, jnp.where(visited, 0.0, -jnp.inf))
            pa = jax.random.categorical(k_a, jnp.where(taken[ps], 0.0, -jnp.inf))
            pr, pn = mdl.sample(k_m, model, ps, pa)
            return q_update(q, ps, pa, pr + hp.gamma * q[pn].max(), hp.lr)[0], None

        q = jax.lax.scan(plan, q, jax.random.split(key, config.steps))[0]
        return DynaState(q, model, taken), td**2

    return TabularAgent(init=init, act=lambda st, s, k, hp: (greedy_act(st.q, s, k, hp.epsilon),
                                                            st),
                        learn=learn, policy=lambda st: jnp.argmax(st.q, axis=-1))


def make_train(config: DynaQConfig, env=None, env_params=None):
    return make_continual_train(agent(config), config, env, env_params)
