"""Latent-strategy inference of FURTHER (Kim et al., NeurIPS 2022, Sec. 4; reference
``_get_inference_loss``).

The peer's changing policy is summarised by a latent ``z``: the encoder maps
``(z_t, s_t, a_t, b_t, r_t, s_{t+1})`` (own action ``a``, peer action ``b``) to a Gaussian
posterior ``q(z_{t+1})`` and the decoder predicts the peer's next action ``p(b_{t+1} | s_{t+1},
z_{t+1})``. Over the last ``B`` transitions in time order (the stored ``z_t`` are those computed
online) the loss is

    −mean_t log p_dec(b_{t+1} | s_{t+1}, z_{t+1})  +  kl_weight · mean_t KL(q(z_{t+1}) ‖ q(z_t)),

the prior of each posterior being the previous posterior in the batch (both sides carry
gradients, as in the reference), and ``N(0, I)`` for the first posterior only at the very first
update (``initial_prior``), as the reference does. Without inference (MASAC) the latent is
fixed at zero: the decoder is then a plain opponent model ``p(b_{t+1} | s_{t+1})`` and the KL
term vanishes (a choice: the reference has no MASAC).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.further.networks import CategoricalMLP, GaussianEncoder


def encoder_input(z, obs, own_action, peer_action, reward, next_obs, num_actions: int):
    """``[z, obs, onehot(own), onehot(peer), reward, next_obs]`` (batched over leading axes)."""
    return jnp.concatenate([
        z, obs, jax.nn.one_hot(own_action, num_actions), jax.nn.one_hot(peer_action, num_actions),
        jnp.asarray(reward, jnp.float32)[..., None], next_obs], axis=-1)


def reparameterise(key, mean, logvar):
    """``mean + exp(logvar / 2) · ε`` with ``ε ~ N(0, I)``."""
    return mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, mean.shape)


def gaussian_kl(mean_q, logvar_q, mean_p, logvar_p):
    """``KL(N(mean_q, e^{logvar_q}) ‖ N(mean_p, e^{logvar_p}))`` summed over the last axis."""
    return 0.5 * jnp.sum(logvar_p - logvar_q - 1.0 + jnp.exp(logvar_q - logvar_p)
                         + (mean_q - mean_p) ** 2 * jnp.exp(-logvar_p), axis=-1)


def chained_kl(mean, logvar, initial_prior):
    """Mean over the batch of ``KL(q_t ‖ q_{t−1})`` for posteriors ``(T, L)`` in time order;
    with ``initial_prior`` (a bool array) the first posterior's prior is ``N(0, I)`` and
    contributes a term too (``T`` terms instead of ``T − 1``)."""
    chain = gaussian_kl(mean[1:], logvar[1:], mean[:-1], logvar[:-1]).sum()
    first = gaussian_kl(mean[0], logvar[0], jnp.zeros_like(mean[0]), jnp.zeros_like(logvar[0]))
    t = mean.shape[0]
    return jnp.where(initial_prior, (chain + first) / t, chain / max(t - 1, 1))


def inference_loss(encoder: GaussianEncoder, decoder: CategoricalMLP, window: dict, key,
                   initial_prior, kl_weight, use_latent=1.0, num_actions: int = 2):
    """``(loss, (nll, kl))`` over a time-ordered ``window`` of ``B`` transitions with keys
    ``obs, z, own_action, peer_action, reward, next_obs`` (leading axis ``B``); ``use_latent``
    is 1 (FURTHER, LILI) or 0 (MASAC: zero latent, no KL), a number so that it can be traced."""
    x = encoder_input(window["z"][:-1], window["obs"][:-1], window["own_action"][:-1],
                      window["peer_action"][:-1], window["reward"][:-1], window["next_obs"][:-1],
                      num_actions)
    mean, logvar = jax.vmap(encoder)(x)
    z_next = use_latent * reparameterise(key, mean, logvar)
    logits = jax.vmap(decoder)(jnp.concatenate([window["obs"][1:], z_next], -1))
    log_probs = jax.nn.log_softmax(logits)
    nll = -jnp.take_along_axis(log_probs, window["peer_action"][1:, None], -1).mean()
    kl = use_latent * chained_kl(mean, logvar, initial_prior)
    return nll + kl_weight * kl, (nll, kl)
