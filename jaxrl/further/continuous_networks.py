"""FURTHER's networks for continuous actions (the Gaussian-policy path; Kim et al., NeurIPS
2022, use SAC's tanh-squashed Gaussian policy in their MuJoCo domains).

Each is an MLP with two hidden ReLU layers of ``hidden`` units, as the discrete networks of
:mod:`jaxrl.further.networks`:

* actor :class:`GaussianMLP` ``[obs, z] -> (mean, log_std)`` of the pre-tanh Gaussian
  (actions ``tanh(u)``, SAC, Haarnoja et al. 2018);
* decoder :class:`GaussianMLP` ``[obs, z] -> (mean, log_std)`` of a diagonal Gaussian over the
  peer's action itself (no squashing: a choice, the paper is silent; its log-likelihood needs
  no ``atanh`` of actions near ±1);
* :class:`ContinuousTwinCritic` ``[obs, z, own action, peer action] -> (Q_1, Q_2)``;
* encoder :class:`jaxrl.further.networks.GaussianEncoder` over ``[z, obs, own action, peer
  action, own reward, next_obs]`` (raw actions in place of one-hots).

Log standard deviations are squashed into [−5, 2] with tanh, as :mod:`jaxrl.agents.sac`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.agents.sac import LOG_STD_MAX, LOG_STD_MIN
from jaxrl.further.networks import GaussianEncoder
from jaxrl.networks.mlp import MLP


class GaussianMLP(eqx.Module):
    """``x -> (mean, log_std)`` of a diagonal Gaussian over ``dim`` numbers."""

    net: MLP
    dim: int = eqx.field(static=True)

    def __init__(self, in_size: int, dim: int, hidden: int, key: jax.Array):
        self.net = MLP(in_size, (hidden, hidden), 2 * dim, key, "relu", out_scale=0.01)
        self.dim = dim

    def __call__(self, x):
        out = self.net(x)
        raw = out[self.dim:]
        return out[:self.dim], LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (
            jnp.tanh(raw) + 1.0)


class ContinuousTwinCritic(eqx.Module):
    """Two Q networks ``[obs, z, own action, peer action] -> (Q_1, Q_2)``."""

    q1: MLP
    q2: MLP

    def __init__(self, in_size: int, hidden: int, key: jax.Array):
        k1, k2 = jax.random.split(key)
        self.q1 = MLP(in_size, (hidden, hidden), 1, k1, "relu")
        self.q2 = MLP(in_size, (hidden, hidden), 1, k2, "relu")

    def __call__(self, x):
        return jnp.concatenate([self.q1(x), self.q2(x)])


class ContinuousNets(eqx.Module):
    """All networks of one continuous FURTHER / LILI / MASAC agent (same field names as
    :class:`jaxrl.further.networks.FurtherNets`, so one update rule applies both)."""

    actor: GaussianMLP
    critic: ContinuousTwinCritic
    target_critic: ContinuousTwinCritic
    encoder: GaussianEncoder
    decoder: GaussianMLP

    def __init__(self, obs_size: int, own_dim: int, peer_dim: int, hidden: int, latent: int,
                 key: jax.Array):
        k_actor, k_critic, k_enc, k_dec = jax.random.split(key, 4)
        self.actor = GaussianMLP(obs_size + latent, own_dim, hidden, k_actor)
        self.critic = ContinuousTwinCritic(obs_size + latent + own_dim + peer_dim, hidden,
                                           k_critic)
        self.target_critic = self.critic
        self.encoder = GaussianEncoder(2 * obs_size + own_dim + peer_dim + 1 + latent, latent,
                                       hidden, k_enc)
        self.decoder = GaussianMLP(obs_size + latent, peer_dim, hidden, k_dec)
