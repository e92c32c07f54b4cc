"""FURTHER's networks (Kim et al., NeurIPS 2022, reference code ``network/*_mlp.py``).

Every network is an MLP with two hidden ReLU layers of ``hidden`` units (orthogonal init here;
the reference uses its own ``weight_init``):

* :class:`GaussianEncoder`: ``[z, obs, onehot(own action), onehot(peer action), own reward,
  next_obs] -> (mean, log-variance)`` of the next latent, log-variance clamped to [−20, 2] as
  the reference's ``GaussianMLP``. The reference orders the joint action by agent index; here
  it is (own, peer) so one encoder serves either seat.
* decoder ``[obs, z] -> logits`` of the peer's action, actor ``[obs, z] -> logits`` of the own
  action (both :class:`CategoricalMLP`);
* :class:`TwinCritic`: ``[obs, z, onehot(peer action)] -> (2, own actions)`` Q values.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.dense import Dense
from jaxrl.networks.init import linear
from jaxrl.networks.mlp import MLP

LOGVAR_MIN = -20.0
LOGVAR_MAX = 2.0


def encoder_input_size(obs_size: int, num_actions: int, latent: int) -> int:
    return 2 * obs_size + 2 * num_actions + 1 + latent


class CategoricalMLP(eqx.Module):
    """``x -> logits``: two hidden ReLU layers."""

    net: MLP

    def __init__(self, in_size: int, out_size: int, hidden: int, key: jax.Array):
        self.net = MLP(in_size, (hidden, hidden), out_size, key, "relu", out_scale=0.01)

    def __call__(self, x):
        return self.net(x)


class GaussianEncoder(eqx.Module):
    """``x -> (mean, logvar)`` of a diagonal Gaussian over the latent."""

    torso: MLP
    mean: Dense
    logvar: Dense

    def __init__(self, in_size: int, latent: int, hidden: int, key: jax.Array):
        k_torso, k_mean, k_var = jax.random.split(key, 3)
        self.torso = MLP(in_size, (hidden, hidden), None, k_torso, "relu")
        self.mean = linear(hidden, latent, k_mean, 1.0)
        self.logvar = linear(hidden, latent, k_var, 1.0)

    def __call__(self, x):
        h = self.torso(x)
        return self.mean(h), jnp.clip(self.logvar(h), LOGVAR_MIN, LOGVAR_MAX)


class TwinCritic(eqx.Module):
    """Two Q networks ``[obs, z, onehot(peer action)] -> Q(·)`` over the own actions."""

    q1: MLP
    q2: MLP

    def __init__(self, in_size: int, num_actions: int, hidden: int, key: jax.Array):
        k1, k2 = jax.random.split(key)
        self.q1 = MLP(in_size, (hidden, hidden), num_actions, k1, "relu")
        self.q2 = MLP(in_size, (hidden, hidden), num_actions, k2, "relu")

    def __call__(self, x):
        return jnp.stack([self.q1(x), self.q2(x)])


class FurtherNets(eqx.Module):
    """All trainable networks of one FURTHER / LILI / MASAC agent plus the critic's target."""

    actor: CategoricalMLP
    critic: TwinCritic
    target_critic: TwinCritic
    encoder: GaussianEncoder
    decoder: CategoricalMLP

    def __init__(self, obs_size: int, num_actions: int, hidden: int, latent: int,
                 key: jax.Array):
        k_actor, k_critic, k_enc, k_dec = jax.random.split(key, 4)
        self.actor = CategoricalMLP(obs_size + latent, num_actions, hidden, k_actor)
        self.critic = TwinCritic(obs_size + latent + num_actions, num_actions, hidden, k_critic)
        self.target_critic = self.critic
        self.encoder = GaussianEncoder(encoder_input_size(obs_size, num_actions, latent), latent,
                                       hidden, k_enc)
        self.decoder = CategoricalMLP(obs_size + latent, num_actions, hidden, k_dec)
