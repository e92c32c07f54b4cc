"""Iterative ρ, the "bootstrapping" procedure of Riemer et al. (2022; reference
``IterativeRhoLearner``): on-policy ρ improvement at the current state, but the stationary
distribution of each candidate is not solved for: it is warm-started from the previous estimate
μ and refined by ``steps`` power-iteration sweeps; the chosen candidate's μ is kept.

Choices where the reference differs: sweeps are synchronous (``μ ← μP``, renormalised)
rather than in place in random order (to vectorise), and every candidate starts from the same
μ (the reference lets one candidate's sweeps leak into the next). Defaults: ε = 0.1,
steps = 10 (the reference's default; the paper's table does not list this agent). ``loss`` is
−ρ̂ under μ.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl import config as cfg
from jaxrl.agents.avg_reward import model as mdl
from jaxrl.agents.avg_reward.loop import (
    ContinualConfig,
    TabularAgent,
    make_continual_train,
)


@cfg.config_dataclass
class IterativeRhoConfig(ContinualConfig):
    steps: int = cfg.static_field(10)
    epsilon: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        cfg.positive(self, "steps")
        cfg.in_unit_interval(self, "epsilon")


class IterativeRhoState(eqx.Module):
    model: mdl.CountModel
    policy: jax.Array  # [S]
    p: jax.Array  # [S, S] estimated P_π
    r: jax.Array  # [S] estimated r_π
    mu: jax.Array  # [S] warm-started stationary estimate


def _init(key, num_states, num_actions, hp=None):
    model = mdl.init_model(num_states, num_actions)
    policy = jax.random.randint(key, (num_states,), 0, num_actions)
    p, r = mdl.estimates(model)
    idx = jnp.arange(num_states)
    return IterativeRhoState(model, policy, p[idx, policy], r[idx, policy],
                             jnp.full((num_states,), 1.0 / num_states))


def agent(config: IterativeRhoConfig) -> TabularAgent:
    def candidate(st, s, row, rew):
        """μ after ``steps`` sweeps on P_π with row ``s`` replaced, and its ρ̂."""
        delta = row - st.p[s]

        def sweep(mu, _):
            mu = mu @ st.p + mu[s] * delta
            return mu / mu.sum(), None

        mu = jax.lax.scan(sweep, st.mu, None, length=config.steps)[0]
        return mu, mu @ st.r + mu[s] * (rew - st.r[s])

    def act(st, s, key, hp):
        k_e, k_a = jax.random.split(key)
        rows, rs = mdl.state_rows(st.model, s)
        mus, gains = jax.vmap(candidate, in_axes=(None, None, 0, 0))(st, s, rows, rs)
        best = jnp.argmax(gains)
        explore = jax.random.uniform(k_e) < hp.epsilon
        pick = jnp.where(explore, st.policy[s], best)
        st = IterativeRhoState(st.model, st.policy.at[s].set(pick), st.p.at[s].set(rows[pick]),
                               st.r.at[s].set(rs[pick]), jnp.where(explore, st.mu, mus[best]))
        num_actions = rows.shape[0]
        action = jnp.where(explore, jax.random.randint(k_a, (), 0, num_actions), pick)
        return action.astype(jnp.int32), st

    def learn(st, s, a, r, s_next, key, hp):
        model = mdl.observe(st.model, s, a, r, s_next)
        rows, rs = mdl.state_rows(model, s)
        pa = st.policy[s]
        st = IterativeRhoState(model, st.policy, st.p.at[s].set(rows[pa]), st.r.at[s].set(rs[pa]),
                               st.mu)
        return st, -(st.mu @ st.r)

    return TabularAgent(init=_init, act=act, learn=learn, policy=lambda st: st.policy)


def make_train(config: IterativeRhoConfig, env=None, env_params=None):
    return make_continual_train(agent(config), config, env, env_params)
