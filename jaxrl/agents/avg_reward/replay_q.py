"""Q-learning with replay, a baseline of Riemer et al. (2022; reference ``ReplayLearner``):
after the Q-learning update on the current transition, ``steps`` transitions drawn uniformly
from all past ones are replayed with the same update. The buffer holds ``capacity``
transitions (default: the whole run, as the reference's unbounded list), overwriting the
oldest when full. Defaults from the paper's table: ε = 0.2, α = 0.3, steps = 5; γ = 0.99.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl import config as cfg
from jaxrl.agents.avg_reward.loop import TabularAgent, make_continual_train
from jaxrl.agents.avg_reward.q_learning import QLearningConfig, greedy_act, q_update


@cfg.config_dataclass
class ReplayQConfig(QLearningConfig):
    steps: int = cfg.static_field(5)
    capacity: int | None = cfg.static_field(None)  # None: total_timesteps
    epsilon: float = 0.2
    lr: float = 0.3

    def __post_init__(self):
        super().__post_init__()
        cfg.positive(self, "steps")
        if self.capacity is not None:
            cfg.positive(self, "capacity")


class ReplayState(eqx.Module):
    q: jax.Array
    buffer: jax.Array  # [capacity, 4]: s, a, r, s'
    count: jax.Array  # transitions stored so far


def agent(config: ReplayQConfig) -> TabularAgent:
    capacity = config.capacity or config.total_timesteps

    def init(key, num_states, num_actions, hp=None):
        return ReplayState(jnp.zeros((num_states, num_actions), jnp.float32),
                           jnp.zeros((capacity, 4), jnp.float32), jnp.zeros((), jnp.int32))

    def learn(st, s, a, r, s_next, key, hp):
        row = jnp.stack([s, a, r, s_next]).astype(jnp.float32)
        buffer = st.buffer.at[st.count % capacity].set(row)
        count = st.count + 1
        q, td = q_update(st.q, s, a, r + hp.gamma * st.q[s_next].max(), hp.lr)
        picks = jax.random.randint(key, (config.steps,), 0, jnp.minimum(count, capacity))

        def replay(q, i):
            bs, ba, br, bn = buffer[i]
            bs, ba, bn = bs.astype(jnp.int32), ba.astype(jnp.int32), bn.astype(jnp.int32)
            return q_update(q, bs, ba, br + hp.gamma * q[bn].max(), hp.lr)[0], None

        q = jax.lax.scan(replay, q, picks)[0]
        return ReplayState(q, buffer, count), td**2

    return TabularAgent(init=init, act=lambda st, s, k, hp: (greedy_act(st.q, s, k, hp.epsilon),
                                                            st),
                        learn=learn, policy=lambda st: jnp.argmax(st.q, axis=-1))


def make_train(config: ReplayQConfig, env=None, env_params=None):
    return make_continual_train(agent(config), config, env, env_params)
