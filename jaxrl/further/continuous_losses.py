"""FURTHER's losses for continuous actions: the Gaussian-policy counterpart of
:mod:`jaxrl.further.losses` and :mod:`jaxrl.further.inference` (Kim et al., NeurIPS 2022,
Eq. 6–8 with SAC's reparameterised continuous policy, Haarnoja et al. 2018).

Sums over the discrete action sets become samples (one per row, reparameterised):

* soft next value ``V' = min_k Q̄_k(s', z', a', b') − α log π(a' | s', z')`` with
  ``a' ~ π(· | s', z')`` (tanh-squashed Gaussian) and ``b' ~ p_dec(· | s', z')`` the decoder's
  prediction of the peer's next action, clipped to the action box [−1, 1] (a choice);
* critic target and loss exactly as the discrete ones: ``y = r − use_gain·ρ̂ + γ V'`` (FURTHER:
  ``use_gain = 1, γ = 1``; LILI / MASAC: ``0, γ``), ``mean[(Q_1 − y)² + (Q_2 − y)²]`` with
  ``Q_k(s, z, a, b)`` at the taken own action ``a`` and actual peer action ``b``; ``V'`` is held
  fixed, ρ̂ is not (it is learned by the same TD error);
* actor loss ``mean[α log π(ã | s, z) − min_k Q_k(s, z, ã, b)]``, ``ã ~ π`` reparameterised,
  actual peer action ``b``; only the actor is differentiated;
* inference loss as :func:`jaxrl.further.inference.inference_loss` with the categorical decoder
  replaced by a diagonal Gaussian: ``−log N(b_{t+1}; μ_dec(s_{t+1}, z_{t+1}),
  σ_dec(s_{t+1}, z_{t+1})²)`` summed over the peer's action dimensions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.agents.sac import squashed_gaussian_sample
from jaxrl.distributions import DiagGaussian
from jaxrl.further.inference import chained_kl, reparameterise


def encoder_input(z, obs, own_action, peer_action, reward, next_obs):
    """``[z, obs, own action, peer action, reward, next_obs]`` (batched over leading axes)."""
    return jnp.concatenate([z, obs, own_action, peer_action,
                            jnp.asarray(reward, jnp.float32)[..., None], next_obs], axis=-1)


def critic_input(obs, z, own_action, peer_action):
    return jnp.concatenate([obs, z, own_action, peer_action], -1)


def sample_actions(actor, obs, z, key):
    """Reparameterised ``(a, log π(a | s, z))`` for a batch ``(B, ·)``."""
    mean, log_std = jax.vmap(actor)(jnp.concatenate([obs, z], -1))
    return squashed_gaussian_sample(mean, log_std, key)


def decoder_log_likelihood(decoder, obs, z, peer_action):
    """``log N(peer_action; μ_dec([obs, z]), σ_dec²)`` per row (sum over action dimensions)."""
    mean, log_std = jax.vmap(decoder)(jnp.concatenate([obs, z], -1))
    return DiagGaussian(mean, log_std).log_prob(peer_action)


def soft_next_value(actor, target_critic, decoder, next_obs, next_z, alpha, key):
    """One-sample ``V'`` per row of ``(B, ·)`` next observations and latents; shape ``(B,)``."""
    k_own, k_peer = jax.random.split(key)
    x = jnp.concatenate([next_obs, next_z], -1)
    own, log_pi = sample_actions(actor, next_obs, next_z, k_own)
    peer = jnp.clip(DiagGaussian(*jax.vmap(decoder)(x)).sample(k_peer), -1.0, 1.0)
    q = jax.vmap(target_critic)(critic_input(next_obs, next_z, own, peer)).min(-1)
    return q - alpha * log_pi


def critic_loss(critic, gain, batch: dict, next_value, gamma, use_gain):
    """``(loss, td_error)`` of the twin critics on ``batch`` (``obs, z, own_action,
    peer_action, reward``); ``next_value`` is ``V'`` (gradient stopped here)."""
    q = jax.vmap(critic)(critic_input(batch["obs"], batch["z"], batch["own_action"],
                                      batch["peer_action"]))  # (B, 2)
    y = batch["reward"] - use_gain * gain + gamma * jax.lax.stop_gradient(next_value)
    loss = ((q - y[:, None]) ** 2).sum(-1).mean()
    return loss, y - q.mean(-1)


def actor_loss(actor, critic, batch: dict, alpha, key):
    """Reparameterised soft policy loss with the actual peer action."""
    own, log_pi = sample_actions(actor, batch["obs"], batch["z"], key)
    q = jax.vmap(critic)(critic_input(batch["obs"], batch["z"], own, batch["peer_action"]))
    return (alpha * log_pi - q.min(-1)).mean()


def inference_loss(encoder, decoder, window: dict, key, initial_prior, kl_weight,
                   use_latent=1.0):
    """``(loss, (nll, kl))`` over a time-ordered ``window`` of ``B`` transitions, as the
    discrete :func:`jaxrl.further.inference.inference_loss` with the Gaussian decoder."""
    x = encoder_input(window["z"][:-1], window["obs"][:-1], window["own_action"][:-1],
                      window["peer_action"][:-1], window["reward"][:-1], window["next_obs"][:-1])
    mean, logvar = jax.vmap(encoder)(x)
    z_next = use_latent * reparameterise(key, mean, logvar)
    nll = -decoder_log_likelihood(decoder, window["obs"][1:], z_next,
                                  window["peer_action"][1:]).mean()
    kl = use_latent * chained_kl(mean, logvar, initial_prior)
    return nll + kl_weight * kl, (nll, kl)
