"""One FURTHER / LILI / MASAC agent with a tanh-squashed Gaussian policy (continuous actions).

The online scheme is :class:`jaxrl.further.learner.Learner`'s (step, apply, the window of the
last ``batch_size`` transitions, ρ̂ warm-up, Polyak targets, one update per environment step);
what changes is the networks (:mod:`jaxrl.further.continuous_networks`), the losses
(:mod:`jaxrl.further.continuous_losses`) and acting by sampling ``a = tanh(u)``.

Choice where the paper is silent: the critics, ρ̂ and the actor learn from the whole window
(the last ``batch_size`` transitions, their next latents re-encoded with fresh noise) rather
than the latest transition only, as the matrix-game reference does: one transition per update
is too little signal for continuous control.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.further.config import FurtherConfig
from jaxrl.further.continuous_losses import (
    actor_loss,
    critic_loss,
    encoder_input,
    inference_loss,
    sample_actions,
    soft_next_value,
)
from jaxrl.further.continuous_networks import ContinuousNets
from jaxrl.further.inference import reparameterise
from jaxrl.further.learner import Learner, LearnerState


class ContinuousLearner(Learner):
    """Pure functions of one continuous agent acting in ``own_dim`` dimensions against a peer
    acting in ``peer_dim``; the method is data in the state, as for :class:`Learner`."""

    def __init__(self, config: FurtherConfig, obs_size: int, own_dim: int, peer_dim: int):
        super().__init__(config, obs_size, own_dim)
        self.own_dim, self.peer_dim = own_dim, peer_dim

    def init(self, key, method) -> LearnerState:
        c = self.config
        nets = ContinuousNets(self.obs_size, self.own_dim, self.peer_dim, c.hidden, c.latent,
                              key)
        b = c.batch_size
        window = {"obs": jnp.zeros((b, self.obs_size)), "z": jnp.zeros((b, c.latent)),
                  "own_action": jnp.zeros((b, self.own_dim)),
                  "peer_action": jnp.zeros((b, self.peer_dim)), "reward": jnp.zeros((b,)),
                  "next_obs": jnp.zeros((b, self.obs_size))}
        return self.fresh_state(nets, window, method)

    def act(self, state: LearnerState, obs, key) -> jax.Array:
        """A sample ``tanh(u)``, ``u ~ N(actor([obs, z]))``."""
        action, _ = sample_actions(state.nets.actor, obs[None], state.z[None], key)
        return action[0]

    def encode(self, state: LearnerState, key, transition: dict) -> jax.Array:
        x = encoder_input(transition["z"], transition["obs"], transition["own_action"],
                          transition["peer_action"], transition["reward"],
                          transition["next_obs"])
        return state.use_latent * reparameterise(key, *state.nets.encoder(x))

    def losses(self, state: LearnerState, key, initial_prior):
        c, nets, window = self.config, state.nets, state.window
        k_enc, k_next, k_actor, k_inf = jax.random.split(key, 4)
        next_z = jax.lax.stop_gradient(jax.vmap(lambda t, k: self.encode(state, k, t))(
            window, jax.random.split(k_enc, c.batch_size)))
        next_value = soft_next_value(nets.actor, nets.target_critic, nets.decoder,
                                     window["next_obs"], next_z, c.alpha, k_next)
        gamma = state.average + (1.0 - state.average) * c.gamma

        def critic_fn(critic_and_gain):
            critic, gain = critic_and_gain
            return critic_loss(critic, gain, window, next_value, gamma, state.average)

        (l_critic, td), g_critic = eqx.filter_value_and_grad(critic_fn, has_aux=True)(
            (nets.critic, state.gain))
        l_actor, g_actor = eqx.filter_value_and_grad(
            lambda actor: actor_loss(actor, nets.critic, window, c.alpha, k_actor))(nets.actor)
        (l_inf, (nll, kl)), g_inf = eqx.filter_value_and_grad(
            lambda m: inference_loss(m[0], m[1], window, k_inf, initial_prior, c.kl_weight,
                                     state.use_latent),
            has_aux=True)((nets.encoder, nets.decoder))
        metrics = {"critic_loss": l_critic, "actor_loss": l_actor, "inference_loss": l_inf,
                   "nll": nll, "kl": kl, "td_error": td[-1]}
        return (g_critic, g_actor, g_inf), metrics
