"""Count-based tabular model of the reference code's ``BaseClass`` (Riemer et al. 2022):
``P̂(s'|s, a)`` and ``P̂(r|s, a)`` for rewards in {0, 1}, every count starting at 1e-4 (so an
unvisited pair has a uniform next state and ``P̂(r=1) = 1/2``)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

PRIOR_COUNT = 1e-4


class CountModel(eqx.Module):
    next_counts: jax.Array  # [S, A, S]
    reward_counts: jax.Array  # [S, A, 2]


def init_model(num_states: int, num_actions: int) -> CountModel:
    return CountModel(jnp.full((num_states, num_actions, num_states), PRIOR_COUNT, jnp.float32),
                      jnp.full((num_states, num_actions, 2), PRIOR_COUNT, jnp.float32))


def observe(model: CountModel, s, a, r, s_next) -> CountModel:
    reward_bin = (r > 0.5).astype(jnp.int32)
    return CountModel(model.next_counts.at[s, a, s_next].add(1.0),
                      model.reward_counts.at[s, a, reward_bin].add(1.0))


def state_rows(model: CountModel, s):
    """``(P̂[s, a, :], P̂(r=1|s, a))`` for every action at state ``s``."""
    nxt = model.next_counts[s]
    rew = model.reward_counts[s]
    return nxt / nxt.sum(-1, keepdims=True), rew[:, 1] / rew.sum(-1)


def estimates(model: CountModel):
    """``(P̂[s, a, s'], r̂[s, a])``, ``r̂`` the estimated probability of reward 1."""
    return jax.vmap(lambda s: state_rows(model, s))(jnp.arange(model.next_counts.shape[0]))


def sample(key, model: CountModel, s, a):
    """Sample ``(r, s')`` from the model at ``(s, a)``."""
    k_r, k_s = jax.random.split(key)
    p_next, p_reward = state_rows(model, s)
    r = jax.random.bernoulli(k_r, p_reward[a]).astype(jnp.float32)
    return r, jax.random.categorical(k_s, jnp.log(p_next[a])).astype(jnp.int32)
