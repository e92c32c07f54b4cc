"""Off-policy ρ (Riemer et al. 2022; reference ``OffPolicyRho``): act ε-greedily by the current
deterministic policy; after each step, count the transition, then improve the policy
(``on_policy_rho.improve``) at ``steps`` states drawn uniformly, or from the estimated
stationary distribution d̂_π when ``priority``. Defaults from the paper's table: ε = 0.1,
steps = 5 (its lr = 0.35 has no role in this agent, as in the reference code). ``loss`` is
−ρ̂(π).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl import config as cfg
from jaxrl.agents.avg_reward import chain as ch
from jaxrl.agents.avg_reward.loop import (
    ContinualConfig,
    TabularAgent,
    epsilon_random,
    make_continual_train,
)
from jaxrl.agents.avg_reward.on_policy_rho import RhoState, improve, init_rho, observe


@cfg.config_dataclass
class OffPolicyRhoConfig(ContinualConfig):
    steps: int = cfg.static_field(5)
    priority: bool = cfg.static_field(False)
    epsilon: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        cfg.positive(self, "steps")
        cfg.in_unit_interval(self, "epsilon")


def _act(state: RhoState, s, key, hp):
    action, _ = epsilon_random(key, state.policy[s], hp.epsilon,
                               state.model.next_counts.shape[1])
    return action, state


def agent(config: OffPolicyRhoConfig) -> TabularAgent:
    def learn(state, s, a, r, s_next, key, hp):
        state = observe(state, s, a, r, s_next)
        num_states = state.policy.shape[0]
        if config.priority:
            d = jnp.clip(ch.stationary(state.chain), 1e-12, None)
            states = jax.random.categorical(key, jnp.log(d), shape=(config.steps,))
        else:
            states = jax.random.randint(key, (config.steps,), 0, num_states)
        state = jax.lax.fori_loop(0, config.steps, lambda i, st: improve(st, states[i]), state)
        return state, -ch.gain(state.chain)

    return TabularAgent(init=init_rho, act=_act, learn=learn, policy=lambda st: st.policy,
                         refresh=lambda st: RhoState(st.model, st.policy, ch.refresh(st.chain)),
                         polish=lambda st: RhoState(st.model, st.policy, ch.polish(st.chain)))


def make_train(config: OffPolicyRhoConfig, env=None, env_params=None):
    return make_continual_train(agent(config), config, env, env_params)
