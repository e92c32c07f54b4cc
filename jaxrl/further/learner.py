"""One FURTHER / LILI / MASAC agent: its state, how it acts, and its single-step online update
(reference ``trainer.py`` and ``algorithm/{further,lili}/agent.py``).

Each environment step (``n`` = transitions seen so far, this one included):

1. the agent acted with ``a ~ softmax(actor([obs, z]))``;
2. ``z' ~ q(· | z, obs, a, b, r, next_obs)`` from the current encoder (zero for MASAC); it
   carries over episode boundaries;
3. the transition enters a window of the last ``batch_size`` transitions;
4. while ``n < batch_size`` nothing learns and (FURTHER) ``ρ̂ = max(ρ̂, r)`` from ρ̂ = 0;
   from ``n = batch_size`` on, all losses are computed at the current parameters and applied
   together: critics + ρ̂ and actor on the latest transition (its ``z'`` re-encoded with fresh
   noise for the target), inference on the window (N(0, I) prior at ``n = batch_size`` only);
5. Polyak averaging of the target critics (every step, as the reference).

Adam everywhere with global-norm clipping at ``max_grad_norm`` (reference 1000).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrl.further.config import METHODS, FurtherConfig
from jaxrl.further.inference import encoder_input, inference_loss, reparameterise
from jaxrl.further.losses import actor_loss, critic_loss, soft_next_value
from jaxrl.further.networks import FurtherNets

WINDOW_KEYS = ("obs", "z", "own_action", "peer_action", "reward", "next_obs")


@struct.dataclass
class LearnerState:
    nets: FurtherNets
    gain: jax.Array  # ρ̂ (FURTHER only; stays 0 for LILI / MASAC)
    opt_actor: optax.OptState
    opt_critic: optax.OptState
    opt_gain: optax.OptState
    opt_inference: optax.OptState
    average: jax.Array  # 1.0 for FURTHER's average-reward target, 0.0 for discounted
    use_latent: jax.Array  # 0.0 for MASAC: latent fixed at zero
    z: jax.Array  # current latent (latent,)
    window: dict  # last batch_size transitions, oldest first


class Learner:
    """Pure functions of one agent with ``config``'s hyperparameters. The method is data in
    the state (``init(key, method)`` with ``method`` an index into ``METHODS``), so one
    compiled program can ``vmap`` over FURTHER, LILI and MASAC."""

    def __init__(self, config: FurtherConfig, obs_size: int, num_actions: int):
        self.config = config
        self.obs_size, self.num_actions = obs_size, num_actions

        def adam(lr):
            return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(lr))

        self.opt_actor = adam(config.actor_lr)
        self.opt_critic = adam(config.critic_lr)
        self.opt_gain = adam(config.gain_lr)
        self.opt_inference = adam(config.inference_lr)

    # ------------------------------------------------------------------------------------
    def init(self, key, method) -> LearnerState:
        """Fresh state of the method ``METHODS[method]`` (a Python or traced integer)."""
        c = self.config
        nets = FurtherNets(self.obs_size, self.num_actions, c.hidden, c.latent, key)
        b = c.batch_size
        window = {"obs": jnp.zeros((b, self.obs_size)), "z": jnp.zeros((b, c.latent)),
                  "own_action": jnp.zeros((b,), jnp.int32),
                  "peer_action": jnp.zeros((b,), jnp.int32), "reward": jnp.zeros((b,)),
                  "next_obs": jnp.zeros((b, self.obs_size))}
        return self.fresh_state(nets, window, method)

    def fresh_state(self, nets, window: dict, method) -> LearnerState:
        """The state of new networks ``nets`` with an empty ``window`` (zeros)."""
        gain = jnp.zeros((), jnp.float32)
        return LearnerState(
            nets=nets, gain=gain,
            opt_actor=self.opt_actor.init(_params(nets.actor)),
            opt_critic=self.opt_critic.init(_params(nets.critic)),
            opt_gain=self.opt_gain.init(gain),
            opt_inference=self.opt_inference.init(_params((nets.encoder, nets.decoder))),
            average=jnp.asarray(method == METHODS.index("further"), jnp.float32),
            use_latent=jnp.asarray(method != METHODS.index("masac"), jnp.float32),
            z=jnp.zeros((self.config.latent,)), window=window)

    def policy(self, state: LearnerState, obs) -> jax.Array:
        """Action probabilities ``softmax(actor([obs, z]))``."""
        return jax.nn.softmax(state.nets.actor(jnp.concatenate([obs, state.z])))

    def encode(self, state: LearnerState, key, transition: dict) -> jax.Array:
        """A sample of the next latent ``z'`` for one transition (zeros without inference)."""
        x = encoder_input(transition["z"], transition["obs"], transition["own_action"],
                          transition["peer_action"], transition["reward"],
                          transition["next_obs"], self.num_actions)
        return state.use_latent * reparameterise(key, *state.nets.encoder(x))

    # ------------------------------------------------------------------------------------
    def losses(self, state: LearnerState, key, initial_prior):
        """Gradients of every loss at the current parameters (step 4) and their values."""
        c, nets = self.config, state.nets
        k_target, k_inf = jax.random.split(key)
        recent = jax.tree.map(lambda x: x[-1:], state.window)
        next_z = jax.lax.stop_gradient(
            jax.vmap(lambda t, k: self.encode(state, k, t))(recent, k_target[None]))
        next_value = soft_next_value(nets.actor, nets.target_critic, nets.decoder,
                                     recent["next_obs"], next_z, c.alpha)
        gamma = state.average + (1.0 - state.average) * c.gamma
        use_gain = state.average

        def critic_fn(critic_and_gain):
            critic, gain = critic_and_gain
            return critic_loss(critic, gain, recent, next_value, gamma, use_gain,
                               self.num_actions)

        (l_critic, td), g_critic = eqx.filter_value_and_grad(critic_fn, has_aux=True)(
            (nets.critic, state.gain))
        l_actor, g_actor = eqx.filter_value_and_grad(
            lambda actor: actor_loss(actor, nets.critic, recent, c.alpha, self.num_actions))(
            nets.actor)
        (l_inf, (nll, kl)), g_inf = eqx.filter_value_and_grad(
            lambda m: inference_loss(m[0], m[1], state.window, k_inf, initial_prior,
                                     c.kl_weight, state.use_latent, self.num_actions),
            has_aux=True)(
            (nets.encoder, nets.decoder))
        metrics = {"critic_loss": l_critic, "actor_loss": l_actor, "inference_loss": l_inf,
                   "nll": nll, "kl": kl, "td_error": td[0]}
        return (g_critic, g_actor, g_inf), metrics

    def apply(self, state: LearnerState, grads) -> LearnerState:
        (g_critic, g_gain), g_actor, g_inf = grads
        nets = state.nets
        u, opt_actor = self.opt_actor.update(g_actor, state.opt_actor)
        actor = eqx.apply_updates(nets.actor, u)
        u, opt_critic = self.opt_critic.update(g_critic, state.opt_critic)
        critic = eqx.apply_updates(nets.critic, u)
        u, opt_gain = self.opt_gain.update(g_gain, state.opt_gain)
        gain = state.gain + state.average * u
        u, opt_inf = self.opt_inference.update(g_inf, state.opt_inference)
        encoder, decoder = eqx.apply_updates((nets.encoder, nets.decoder), u)
        nets = eqx.tree_at(lambda m: (m.actor, m.critic, m.encoder, m.decoder), nets,
                           (actor, critic, encoder, decoder))
        return state.replace(nets=nets, gain=gain, opt_actor=opt_actor, opt_critic=opt_critic,
                             opt_gain=opt_gain, opt_inference=opt_inf)

    def step(self, state: LearnerState, transition: dict, n, key):
        """Steps 2–5 for ``transition`` (keys of ``WINDOW_KEYS``, ``z`` = the acting latent);
        ``n`` counts transitions including this one. Returns ``(state, metrics)``."""
        c = self.config
        k_enc, k_learn = jax.random.split(key)
        next_z = self.encode(state, k_enc, transition)
        window = {k: jnp.concatenate([state.window[k][1:], transition[k][None]])
                  for k in WINDOW_KEYS}
        state = state.replace(window=window)
        if c.gain_from_warmup:
            warm = jnp.maximum(state.gain, transition["reward"])
            warming = (n < c.batch_size) & (state.average > 0)
            state = state.replace(gain=jnp.where(warming, warm, state.gain))
        grads, metrics = self.losses(state, k_learn, n == c.batch_size)
        learned = self.apply(state, grads)
        learning = n >= c.batch_size
        state = jax.tree.map(lambda new, old: jnp.where(learning, new, old), learned, state)
        target = jax.tree.map(lambda t, q: c.polyak * t + (1.0 - c.polyak) * q,
                              state.nets.target_critic, state.nets.critic)
        state = state.replace(nets=eqx.tree_at(lambda m: m.target_critic, state.nets, target),
                              z=next_z)
        metrics = {k: jnp.where(learning, v, 0.0) for k, v in metrics.items()}
        return state, {**metrics, "gain": state.gain}


def _params(tree):
    return eqx.filter(tree, eqx.is_inexact_array)
