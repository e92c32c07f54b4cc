"""Soft Actor-Critic for discrete actions (Christodoulou 2019, "Soft Actor-Critic for Discrete
Action Settings").

The policy is a softmax over actions and each critic outputs Q for every action, so the
expectations that continuous SAC estimates with one reparameterised sample are computed exactly:
the soft state value ``V(s) = π(s)ᵀ[min_i Q_i(s) − α log π(s)]`` in the critic target, the
policy loss ``π(s)ᵀ[α log π(s) − min_i Q_i(s)]`` and ``E_π[log π]`` in the temperature
loss. Target entropy ``scale·log|A|`` with ``SACConfig.target_entropy_scale``
(default 0.89, CleanRL's sac_atari; the paper used 0.98). Training is the shared loop of
``jaxrl.agents.sac``, which selects this variant for a Discrete action space.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.agents.sac import SACVariant, TwinQ
from jaxrl.distributions import Categorical
from jaxrl.networks.mlp import MLP


class SoftmaxActor(eqx.Module):
    """``obs -> logits`` of a categorical policy."""

    net: MLP

    def __init__(self, obs_size: int, num_actions: int, hidden, key: jax.Array):
        self.net = MLP(obs_size, hidden, num_actions, key, "relu", out_scale=0.01)

    def __call__(self, obs: jax.Array) -> jax.Array:
        return self.net(obs.reshape(-1).astype(jnp.float32))


def discrete_variant(obs_size: int, num_actions: int, hidden) -> SACVariant:
    def init(key):
        k_actor, k_critic = jax.random.split(key)
        return (SoftmaxActor(obs_size, num_actions, hidden, k_actor),
                TwinQ(obs_size, num_actions, hidden, k_critic))

    def q_all(critic, obs):  # (B, 2, |A|)
        return jax.vmap(critic)(obs.reshape(obs.shape[0], -1).astype(jnp.float32))

    def q(critic, obs, action):
        return jnp.take_along_axis(q_all(critic, obs), action[:, None, None], -1)[..., 0]

    def soft_terms(actor, critic, obs, key):
        log_probs = jax.nn.log_softmax(jax.vmap(actor)(obs))
        probs = jnp.exp(log_probs)
        return ((probs * q_all(critic, obs).min(1)).sum(-1),
                (probs * log_probs).sum(-1))

    return SACVariant(
        init=init,
        sample=lambda actor, obs, key: Categorical(jax.vmap(actor)(obs)).sample(key),
        uniform=lambda key, n: jax.random.randint(key, (n,), 0, num_actions),
        greedy=lambda actor, obs: jnp.argmax(jax.vmap(actor)(obs), -1),
        to_env=lambda action: action,
        q=q,
        soft_terms=soft_terms,
        target_entropy=lambda hp: hp.target_entropy_scale * jnp.log(float(num_actions)),
    )
