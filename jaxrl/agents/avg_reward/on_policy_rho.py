"""On-policy ρ (Riemer et al. 2022; reference ``OnPolicyRho``): a deterministic policy on a
count model. At the current state, unless exploring (ε), set ``π(s) ← argmax_a ρ̂(π with
π(s) = a)``, ρ̂ the average reward on the estimated model (``chain.deviation_gains``), and act
by it. Defaults: ε = 0.1 (the paper's table; its ``steps`` = 10 is unused by this agent, as in
the reference code). The initial policy is uniform random per state. ``loss`` is −ρ̂(π).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl import config as cfg
from jaxrl.agents.avg_reward import chain as ch
from jaxrl.agents.avg_reward import model as mdl
from jaxrl.agents.avg_reward.loop import (
    ContinualConfig,
    TabularAgent,
    make_continual_train,
)


@cfg.config_dataclass
class OnPolicyRhoConfig(ContinualConfig):
    epsilon: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        cfg.in_unit_interval(self, "epsilon")


class RhoState(eqx.Module):
    model: mdl.CountModel
    policy: jax.Array  # [S] deterministic
    chain: ch.PolicyChain


def policy_chain(model: mdl.CountModel, policy) -> ch.PolicyChain:
    p, r = mdl.estimates(model)
    idx = jnp.arange(policy.shape[0])
    return ch.build(p[idx, policy], r[idx, policy])


def init_rho(key, num_states, num_actions, hp=None) -> RhoState:
    model = mdl.init_model(num_states, num_actions)
    policy = jax.random.randint(key, (num_states,), 0, num_actions)
    return RhoState(model, policy, policy_chain(model, policy))


def best_deviation(state: RhoState, s):
    """``(best, rows, rs)``: the action whose one-state deviation at ``s`` has the highest ρ̂,
    and the model's rows at ``s``."""
    rows, rs = mdl.state_rows(state.model, s)
    return jnp.argmax(ch.deviation_gains(state.chain, s, rows, rs)), rows, rs


def improve(state: RhoState, s) -> RhoState:
    """Set ``π(s)`` to the action whose one-state deviation has the highest ρ̂."""
    best, rows, rs = best_deviation(state, s)
    return RhoState(state.model, state.policy.at[s].set(best),
                    ch.set_row(state.chain, s, rows[best], rs[best]))


def observe(state: RhoState, s, a, r, s_next) -> RhoState:
    """Count the transition and bring row ``s`` of the policy chain up to date."""
    model = mdl.observe(state.model, s, a, r, s_next)
    rows, rs = mdl.state_rows(model, s)
    pa = state.policy[s]
    return RhoState(model, state.policy, ch.set_row(state.chain, s, rows[pa], rs[pa]))


def _act(state, s, key, hp):
    k_e, k_a = jax.random.split(key)
    explore = jax.random.uniform(k_e) < hp.epsilon
    # exploring leaves the policy as it was (the reference improves only on greedy steps)
    best, _, _ = best_deviation(state, s)
    # row s of the chain is brought up to date once, by ``observe`` in ``_learn``: the two
    # replacements of one row (policy, then counts) are one rank-one update
    state = RhoState(state.model, state.policy.at[s].set(jnp.where(explore, state.policy[s],
                                                                    best)), state.chain)
    num_actions = state.model.next_counts.shape[1]
    action = jnp.where(explore, jax.random.randint(k_a, (), 0, num_actions), state.policy[s])
    return action.astype(jnp.int32), state


def _learn(state, s, a, r, s_next, key, hp):
    state = observe(state, s, a, r, s_next)
    return state, -ch.gain(state.chain)


AGENT = TabularAgent(init=init_rho, act=_act, learn=_learn, policy=lambda st: st.policy,
                     refresh=lambda st: RhoState(st.model, st.policy, ch.refresh(st.chain)),
                     polish=lambda st: RhoState(st.model, st.policy, ch.polish(st.chain)))


def agent(config: OnPolicyRhoConfig) -> TabularAgent:
    return AGENT


def make_train(config: OnPolicyRhoConfig, env=None, env_params=None):
    return make_continual_train(AGENT, config, env, env_params)
