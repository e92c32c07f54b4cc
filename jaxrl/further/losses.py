"""FURTHER's average-reward soft actor-critic and LILI's discounted variant (Kim et al.,
NeurIPS 2022, Eq. 6–8; reference ``_get_critic_loss`` / ``_get_actor_loss``).

The augmented state is ``(s, z)``; the twin critics also see the peer's action ``b``.

* soft next value ``V' = Σ_a' π(a'|s',z') [Σ_b' p_dec(b'|s',z') min_k Q̄_k(s',z',b')[a']
  − α log π(a'|s',z')]`` (target critics, decoder's peer-action probabilities);
* critic target ``y = r − ρ̂ + V'`` (FURTHER, average reward, ``gain`` = ρ̂) or ``y = r + γ V'``
  (LILI, MASAC); ``V'`` is held fixed but ρ̂ is *not*: it is learned by minimising the same TD
  error (its own optimiser), so ``∂L/∂ρ̂ = −Σ_k 2(Q_k − y)`` and ρ̂ rises when the TD error
  ``y − Q`` is positive, as the differential TD update of average-reward RL;
* critic loss ``mean[(Q_1(s,z,b)[a] − y)² + (Q_2(s,z,b)[a] − y)²]``;
* actor loss ``−mean Σ_a π(a|s,z)[min_k Q_k(s,z,b)[a] − α log π(a|s,z)]`` with the actual peer
  action ``b`` and the critics held fixed.

Both targets are one function: ``y = r − use_gain·ρ̂ + γ V'`` (FURTHER: ``use_gain = 1, γ = 1``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def critic_input(obs, z, peer_action, num_actions: int):
    return jnp.concatenate([obs, z, jax.nn.one_hot(peer_action, num_actions)], -1)


def soft_next_value(actor, target_critic, decoder, next_obs, next_z, alpha):
    """``V'`` for a batch ``(B, ·)`` of next observations and latents; shape ``(B,)``."""
    x = jnp.concatenate([next_obs, next_z], -1)
    log_pi = jax.nn.log_softmax(jax.vmap(actor)(x))
    peer_probs = jax.nn.softmax(jax.vmap(decoder)(x))  # (B, m)
    m = peer_probs.shape[-1]

    def q_min(b):  # (B, n): min over twins of Q̄(s', z', b)
        inp = critic_input(next_obs, next_z, jnp.full(next_obs.shape[:1], b), m)
        return jax.vmap(target_critic)(inp).min(1)

    q_next = sum(peer_probs[:, b, None] * q_min(b) for b in range(m))
    return (jnp.exp(log_pi) * (q_next - alpha * log_pi)).sum(-1)


def critic_loss(critic, gain, batch: dict, next_value, gamma, use_gain, num_peer_actions: int):
    """``(loss, td_error)`` of the twin critics; ``batch`` has ``obs, z, own_action,
    peer_action, reward``; ``next_value`` is ``V'`` (gradient stopped here)."""
    x = critic_input(batch["obs"], batch["z"], batch["peer_action"], num_peer_actions)
    q = jax.vmap(critic)(x)
    q = jnp.take_along_axis(q, batch["own_action"][:, None, None], -1)[..., 0]  # (B, 2)
    y = batch["reward"] - use_gain * gain + gamma * jax.lax.stop_gradient(next_value)
    loss = ((q - y[:, None]) ** 2).sum(-1).mean()
    return loss, y - q.mean(-1)


def actor_loss(actor, critic, batch: dict, alpha, num_peer_actions: int):
    """Soft policy loss with the actual peer action; the critics are held fixed."""
    x = critic_input(batch["obs"], batch["z"], batch["peer_action"], num_peer_actions)
    q = jax.vmap(critic)(x).min(1)
    log_pi = jax.nn.log_softmax(jax.vmap(actor)(jnp.concatenate([batch["obs"], batch["z"]], -1)))
    pi = jnp.exp(log_pi)
    return -(pi * (jax.lax.stop_gradient(q) - alpha * log_pi)).sum(-1).mean()
