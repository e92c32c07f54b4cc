"""ρ-gradient (Riemer et al. 2022; reference ``RhoGradient``): a softmax policy
``π = softmax(θ / temperature)`` on a count model. After each step, with ρ̂(π) from the model,
draw ``steps`` states ``s ~ d̂_π`` and actions ``a ~ π(·|s)``, score each by the gain of the
deviation that plays ``a`` at ``s`` (``chain.deviation_gains``) and take one gradient step on
``−Σ log π(a|s)·[ρ̂(π with s→a) − ρ̂(π)]`` (the reference's baseline variant). Defaults from the
paper's table: ε = 0.15, lr = 0.5, steps = 10, temperature 0.9; θ starts standard normal.
``loss`` is that surrogate loss.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl import config as cfg
from jaxrl.agents.avg_reward import chain as ch
from jaxrl.agents.avg_reward import deferred as dfr
from jaxrl.agents.avg_reward import model as mdl
from jaxrl.agents.avg_reward.loop import (
    ContinualConfig,
    TabularAgent,
    epsilon_random,
    make_continual_train,
)


@cfg.config_dataclass
class RhoGradientConfig(ContinualConfig):
    steps: int = cfg.static_field(10)
    epsilon: float = 0.15
    lr: float = 0.5
    temperature: float = 0.9

    def __post_init__(self):
        super().__post_init__()
        cfg.positive(self, "steps", "lr", "temperature")
        cfg.in_unit_interval(self, "epsilon")


class RhoGradientState(eqx.Module):
    model: mdl.CountModel
    theta: jax.Array  # [S, A] policy logits
    chain: ch.PolicyChain
    temperature: jax.Array


def _probs(theta, temperature):
    return jax.nn.softmax(theta / temperature, axis=-1)


def _row(model, probs, s):
    rows, rs = mdl.state_rows(model, s)
    return probs[s] @ rows, probs[s] @ rs


def _init(key, num_states, num_actions, hp):
    model = mdl.init_model(num_states, num_actions)
    theta = jax.random.normal(key, (num_states, num_actions))
    probs = _probs(theta, hp.temperature)
    p, r = mdl.estimates(model)
    chain = ch.build(jnp.einsum("sa,sat->st", probs, p), (probs * r).sum(-1))
    return RhoGradientState(model, theta, chain, jnp.asarray(hp.temperature, jnp.float32))


def _act(st, s, key, hp):
    k_e, k_pi = jax.random.split(key)
    sampled = jax.random.categorical(k_pi, st.theta[s] / hp.temperature)
    action, _ = epsilon_random(k_e, sampled, hp.epsilon, st.theta.shape[1])
    return action, st


def agent(config: RhoGradientConfig) -> TabularAgent:
    def learn(st, s, a, r, s_next, key, hp):
        # the counted row and the rows of the updated policy are deferred replacements of the
        # chain, written into its inverse at once (``deferred``)
        k_s, k_a = jax.random.split(key)
        model = mdl.observe(st.model, s, a, r, s_next)
        dc = dfr.set_row(dfr.defer(st.chain, config.steps + 1), s,
                         *_row(model, _probs(st.theta, hp.temperature), s))
        d = dfr.stationary(dc)
        rho = dfr.gain(dc)
        states = jax.random.categorical(k_s, jnp.log(jnp.clip(d, 1e-12, None)),
                                        shape=(config.steps,))
        actions = jax.random.categorical(k_a, st.theta[states] / hp.temperature)

        def chosen(si, ai):
            rows, rs = mdl.state_rows(model, si)
            return rows[ai], rs[ai]

        rows, rs = jax.vmap(chosen)(states, actions)
        bu = dfr.solve(dc, dfr.column_change(dc, states, rows))  # all in one product
        advantage = jax.vmap(lambda si, b, ri: ch.gains_of(d, dc.chain.r, si, b[None],
                                                           ri[None])[0])(states, bu, rs) - rho

        def surrogate(theta):
            logp = jax.nn.log_softmax(theta[states] / hp.temperature, axis=-1)
            return -(jnp.take_along_axis(logp, actions[:, None], 1)[:, 0] * advantage).sum()

        loss, grad = jax.value_and_grad(surrogate)(st.theta)
        theta = st.theta - hp.lr * grad
        probs = _probs(theta, hp.temperature)
        new_rows, new_rs = jax.vmap(lambda si: _row(model, probs, si))(states)
        chain = dfr.flush(dfr.set_rows(dc, states, new_rows, new_rs))
        return RhoGradientState(model, theta, chain, st.temperature), loss

    return TabularAgent(
        init=_init, act=_act, learn=learn,
        policy=lambda st: _probs(st.theta, st.temperature),
        refresh=lambda st: RhoGradientState(st.model, st.theta, ch.refresh(st.chain),
                                            st.temperature),
        polish=lambda st: RhoGradientState(st.model, st.theta, ch.polish(st.chain),
                                           st.temperature))


def make_train(config: RhoGradientConfig, env=None, env_params=None):
    return make_continual_train(agent(config), config, env, env_params)
