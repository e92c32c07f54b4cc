"""Soft Actor-Critic (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications").

Twin Q critics trained towards the soft Bellman target with Polyak-averaged target networks and
the minimum of the two target critics (§4.2), a tanh-squashed Gaussian policy whose log-density
carries the change-of-variables correction (appendix C, "enforcing action bounds") trained by
reparameterisation (§4.2), and automatic entropy tuning towards the target entropy −|A| (§5).
The update loop is shared with discrete-action SAC (``jaxrl.agents.sac_discrete``):
``make_train`` picks the variant from the environment's action space, and a variant only says
how to act, how to read Q at an action and how to take ``E_π[min Q]`` and ``E_π[log π]`` (by one
reparameterised sample here, exactly in the discrete case).

One update is one vectorised step of ``num_envs`` environments followed by ``gradient_steps``
gradient steps on batches drawn uniformly from a flashbax item buffer. The first
``learning_starts`` environment steps take uniform random actions and train nothing (as
CleanRL's and softlearning's SAC). Each gradient step updates the critics, then the actor against
the new critics, then the temperature, then the targets (the order of the paper's Algorithm 1).

Choices where the paper is silent or differs from common practice:

* Truncation bootstraps: the stored next observation is AutoReset's ``final_observation``
  (the observation before any reset) and the bootstrap mask is ``terminated`` alone.
* Policy log-densities (and so the target entropy −|A|) are those of the squashed action in
  [−1, 1], before it is rescaled to the environment's Box bounds (as softlearning and SB3).
* The policy's log std is squashed into [−5, 2] with tanh (CleanRL).
* The temperature is learned as log α with loss −α·(E[log π] + H̄) (CleanRL), where E[log π]
  is the batch mean from the actor step; ``alpha`` is its initial value, or its fixed value
  when ``autotune=False`` (then ``alpha_loss`` is 0).

Defaults are the paper's Table 1 (Adam 3e-4 for all three losses, batch 256, buffer 10⁶, two
ReLU layers of 256, τ 0.005, γ 0.99, one gradient step per environment step, target entropy −|A|)
with CleanRL's 5 000 random warm-up steps and initial α = 1 (softlearning's and CleanRL's
log α = 0). Hyperparameter leaves of the config live in the runner state, so
``jax.vmap(train)(keys, configs)`` sweeps them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from gymnax.environments import spaces

from envs.wrappers.flatten import box_bounds as flat_box_bounds
from jaxrl import config as cfg
from jaxrl.distributions import DiagGaussian
from jaxrl.metrics import finished_episode_mean
from jaxrl.networks.mlp import MLP
from jaxrl.program import TrainProgram
from jaxrl.replay import make_uniform_replay
from jaxrl.training_env import training_env

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


@cfg.config_dataclass
class SACConfig:
    env: str = cfg.static_field("Pendulum-v1")
    num_envs: int = cfg.static_field(1)
    total_timesteps: int = cfg.static_field(1_000_000)
    buffer_size: int = cfg.static_field(1_000_000)
    batch_size: int = cfg.static_field(256)
    learning_starts: int = cfg.static_field(5_000)
    gradient_steps: int = cfg.static_field(1)  # per update, i.e. per vectorised env step
    hidden: tuple[int, ...] = cfg.static_field((256, 256))
    autotune: bool = cfg.static_field(True)
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    alpha_lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    alpha: float = 1.0  # initial temperature; the fixed one when autotune=False
    # Discrete actions only: target entropy = scale·log|A| (CleanRL's sac_atari value;
    # Christodoulou 2019 used 0.98).
    target_entropy_scale: float = 0.89

    def __post_init__(self):
        cfg.known_env(self)
        cfg.positive(self, "num_envs", "total_timesteps", "buffer_size", "batch_size",
                     "gradient_steps", "actor_lr", "critic_lr", "alpha_lr", "alpha")
        cfg.non_negative(self, "learning_starts")
        cfg.in_unit_interval(self, "gamma", "tau", "target_entropy_scale")
        _check_hidden(self)
        cfg.check(self, "autotune", lambda v: isinstance(v, (bool, np.bool_)), "True or False")
        cfg.divides(self, "total_timesteps", "num_envs")
        cfg.check(self, "buffer_size", lambda b: b >= max(self.batch_size, self.num_envs),
                  f"at least batch_size={self.batch_size} and num_envs={self.num_envs}")


def _check_hidden(config):
    # ``cfg.check`` only looks at scalars and arrays, so the tuple is checked here.
    h = config.hidden
    if not (isinstance(h, tuple) and h and all(isinstance(x, (int, np.integer)) and x > 0
                                               for x in h)):
        cfg.fail(type(config).__name__, "hidden", h, "a non-empty tuple of positive ints")


# --- networks shared by both variants -------------------------------------------------------


class TwinQ(eqx.Module):
    """Two independent MLP critics stacked on a leading axis: ``x -> (2, out_size)``."""

    nets: MLP

    def __init__(self, in_size: int, out_size: int, hidden, key: jax.Array):
        self.nets = eqx.filter_vmap(
            lambda k: MLP(in_size, hidden, out_size, k, "relu", out_scale=1.0)
        )(jax.random.split(key, 2))

    def __call__(self, x: jax.Array) -> jax.Array:
        return eqx.filter_vmap(lambda net: net(x))(self.nets)


@dataclasses.dataclass(frozen=True)
class SACVariant:
    """What differs between continuous and discrete SAC. Every function but ``init`` acts on a
    batch (leading axis B); one random draw serves the whole batch.

    * ``init(key) -> (actor, critic)``
    * ``sample(actor, obs, key) -> actions`` as stored in the buffer
    * ``uniform(key, n) -> n actions`` uniformly at random (the warm-up)
    * ``greedy(actor, obs) -> actions`` (deterministic, for evaluation)
    * ``to_env(actions) -> env_actions``
    * ``q(critic, obs, actions) -> (B, 2)`` both critics at ``actions``
    * ``soft_terms(actor, critic, obs, key) -> (E_π[min_i Q_i(obs, ·)], E_π[log π(·|obs)])``,
      each ``(B,)`` and differentiable in ``actor``
    * ``target_entropy(hp) -> H̄``
    """

    init: Callable
    sample: Callable
    uniform: Callable
    greedy: Callable
    to_env: Callable
    q: Callable
    soft_terms: Callable
    target_entropy: Callable


# --- continuous actions: tanh-squashed Gaussian ---------------------------------------------


class SquashedGaussianActor(eqx.Module):
    """``obs -> (mean, log_std)`` of the pre-tanh Gaussian; log std squashed to [−5, 2]."""

    net: MLP
    action_dim: int = eqx.field(static=True)

    def __init__(self, obs_size: int, action_dim: int, hidden, key: jax.Array):
        self.net = MLP(obs_size, hidden, 2 * action_dim, key, "relu", out_scale=0.01)
        self.action_dim = action_dim

    def __call__(self, obs: jax.Array):
        return gaussian_head(self.net(obs.reshape(-1).astype(jnp.float32)), self.action_dim)


def gaussian_head(out: jax.Array, action_dim: int):
    """Split a network output ``[..., 2·A]`` into ``(mean, log_std)``, the log std squashed
    into [−5, 2] with tanh (CleanRL)."""
    mean, raw = out[..., :action_dim], out[..., action_dim:]
    log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(raw) + 1.0)
    return mean, log_std


def squashed_log_prob(u: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """log density of ``a = tanh(u)``, ``u ~ N(mean, exp(log_std)²)`` (paper, appendix C):
    ``log N(u) − Σ log(1 − tanh²u)``, with ``log(1 − tanh²u) = 2(log 2 − u − softplus(−2u))``
    so that it stays finite where ``tanh u`` rounds to ±1."""
    log_det = 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))
    return DiagGaussian(mean, log_std).log_prob(u) - log_det.sum(-1)


def squashed_gaussian_sample(mean, log_std, key):
    """Reparameterised ``(tanh(u), log π(tanh(u)))`` with ``u = mean + exp(log_std)·ε``."""
    u = DiagGaussian(mean, log_std).sample(key)
    return jnp.tanh(u), squashed_log_prob(u, mean, log_std)


def rescale_action(action: jax.Array, low, high) -> jax.Array:
    """Map ``action`` in [−1, 1] affinely onto the Box ``[low, high]``."""
    return low + 0.5 * (action + 1.0) * (high - low)


def box_bounds(space: spaces.Box) -> tuple[jax.Array, jax.Array]:
    """Finite ``(low, high)`` of a one-dimensional Box, broadcast to its shape."""
    if len(space.shape) != 1:
        raise ValueError(f"SAC needs a 1-D Box action space, got shape {space.shape}")
    low, high = flat_box_bounds(space)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
        raise ValueError(f"SAC needs finite Box bounds low < high, got [{low}, {high}]")
    return jnp.asarray(low), jnp.asarray(high)


def continuous_variant(obs_size: int, space: spaces.Box, hidden) -> SACVariant:
    low, high = box_bounds(space)
    action_dim = int(space.shape[0])

    def init(key):
        k_actor, k_critic = jax.random.split(key)
        return (SquashedGaussianActor(obs_size, action_dim, hidden, k_actor),
                TwinQ(obs_size + action_dim, 1, hidden, k_critic))

    def sample(actor, obs, key):
        return squashed_gaussian_sample(*jax.vmap(actor)(obs), key)[0]

    def q(critic, obs, action):
        def one(o, a):
            return critic(jnp.concatenate([o.reshape(-1).astype(jnp.float32), a]))[:, 0]

        return jax.vmap(one)(obs, action)

    def soft_terms(actor, critic, obs, key):
        action, log_prob = squashed_gaussian_sample(*jax.vmap(actor)(obs), key)
        return q(critic, obs, action).min(-1), log_prob

    return SACVariant(
        init=init,
        sample=sample,
        uniform=lambda key, n: jax.random.uniform(key, (n, action_dim), minval=-1.0,
                                                  maxval=1.0),
        greedy=lambda actor, obs: jnp.tanh(jax.vmap(actor)(obs)[0]),
        to_env=lambda action: rescale_action(action, low, high),
        q=q,
        soft_terms=soft_terms,
        target_entropy=lambda hp: jnp.float32(-action_dim),
    )


def make_variant(obs_size: int, action_space, hidden) -> SACVariant:
    """Continuous SAC for a Box action space, discrete SAC for a Discrete one."""
    if isinstance(action_space, spaces.Discrete):
        from jaxrl.agents.sac_discrete import discrete_variant

        return discrete_variant(obs_size, int(action_space.n), hidden)
    if isinstance(action_space, spaces.Box):
        return continuous_variant(obs_size, action_space, hidden)
    raise ValueError(f"SAC supports Box and Discrete action spaces, got {action_space!r}")


# --- the shared training loop ---------------------------------------------------------------


class SACState(eqx.Module):
    actor: Any
    critic: Any
    target_critic: Any
    log_alpha: jax.Array
    actor_opt: Any
    critic_opt: Any
    alpha_opt: Any
    buffer: Any
    env_state: Any
    obs: jax.Array
    key: jax.Array
    update_index: jax.Array
    hp: SACConfig


_ADAM = optax.scale_by_adam()
LEARNER_METRICS = ("loss", "critic_loss", "actor_loss", "alpha_loss", "alpha", "q_mean",
                   "entropy")


def adam_init(params):
    """The optimiser state :func:`adam_step` updates."""
    return _ADAM.init(params)


def adam_step(params, grads, opt_state, lr):
    """One Adam step with a learning rate that may be a traced hyperparameter."""
    updates, opt_state = _ADAM.update(grads, opt_state)
    return eqx.apply_updates(params, jax.tree.map(lambda u: -lr * u, updates)), opt_state


def trainable(module):
    return eqx.filter(module, eqx.is_inexact_array)


# --- the losses and updates, shared with the sequence-replay agent (sac_pipeline) ------------


def soft_q_target(reward, terminated, next_q, next_log_prob, alpha, gamma):
    """Soft Bellman target ``r + γ(1 − terminated)(min_i Q̄_i(s', a') − α log π(a'|s'))``."""
    not_done = 1.0 - terminated.astype(jnp.float32)
    return reward + gamma * not_done * (next_q - alpha * next_log_prob)


def twin_q_loss(q: jax.Array, y: jax.Array) -> jax.Array:
    """Sum over the two critics of ``½ E[(Q_i − y)²]``; ``q`` is ``(B, 2)``, ``y`` a constant."""
    return 0.5 * ((q - jax.lax.stop_gradient(y)[:, None]) ** 2).mean(0).sum()


def policy_loss(q: jax.Array, log_prob: jax.Array, alpha) -> jax.Array:
    """``E[α log π(a|s) − min_i Q_i(s, a)]`` over the batch (§4.2, eq. 7 reparameterised)."""
    return (alpha * log_prob - q).mean()


def temperature_step(log_alpha, alpha_opt, log_prob, target_entropy, lr):
    """One Adam step on ``−α·(E[log π] + H̄)`` in ``log α``; ``(log_alpha, alpha_opt, loss)``."""
    entropy_gap = jax.lax.stop_gradient(log_prob) + target_entropy
    alpha_loss, alpha_grad = jax.value_and_grad(
        lambda la: -jnp.exp(la) * entropy_gap)(log_alpha)
    log_alpha, alpha_opt = adam_step(log_alpha, alpha_grad, alpha_opt, lr)
    return log_alpha, alpha_opt, alpha_loss


def polyak_update(critic, target, tau):
    """Target critics ``τ·critic + (1 − τ)·target`` (static fields taken from ``critic``)."""
    target = optax.incremental_update(trainable(critic), trainable(target), tau)
    return eqx.combine(target, critic)


def make_train(config: SACConfig, env=None, env_params=None) -> TrainProgram:
    """Build SAC for ``config``; ``env``/``env_params`` replace ``envs.make(config.env)``."""
    env, env_params = training_env(config.env, env, env_params)
    obs_size = int(np.prod(env.observation_space(env_params).shape))
    variant = make_variant(obs_size, env.action_space(env_params), config.hidden)
    n_envs = config.num_envs
    buffer = make_uniform_replay(config.buffer_size, config.batch_size)

    def init(key, hp: SACConfig = config):
        k_net, k_env, key = jax.random.split(key, 3)
        actor, critic = variant.init(k_net)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_env, n_envs), env_params)
        action = variant.uniform(jax.random.key(0), 1)[0]
        item = {"obs": obs[0], "action": jnp.zeros_like(action), "reward": jnp.float32(0.0),
                "terminated": jnp.bool_(False), "next_obs": obs[0]}
        log_alpha = jnp.log(jnp.asarray(hp.alpha, jnp.float32))
        return SACState(
            actor=actor, critic=critic, target_critic=critic, log_alpha=log_alpha,
            actor_opt=_ADAM.init(trainable(actor)), critic_opt=_ADAM.init(trainable(critic)),
            alpha_opt=_ADAM.init(log_alpha), buffer=buffer.init(item), env_state=env_state,
            obs=obs, key=key, update_index=jnp.zeros((), jnp.int32), hp=hp,
        )

    def critic_loss(critic, actor, target, alpha, batch, key, hp):
        next_q, next_log_prob = variant.soft_terms(actor, target, batch["next_obs"], key)
        y = soft_q_target(batch["reward"], batch["terminated"], next_q, next_log_prob, alpha,
                          hp.gamma)
        q = variant.q(critic, batch["obs"], batch["action"])  # (B, 2)
        return twin_q_loss(q, y), q.mean()

    def actor_loss(actor, critic, alpha, obs, key):
        q, log_prob = variant.soft_terms(actor, critic, obs, key)
        return policy_loss(q, log_prob, alpha), log_prob.mean()

    critic_grad = eqx.filter_value_and_grad(critic_loss, has_aux=True)
    actor_grad = eqx.filter_value_and_grad(actor_loss, has_aux=True)

    def gradient_step(learner, buffer_state, hp, key):
        actor, critic, target, log_alpha, actor_opt, critic_opt, alpha_opt = learner
        k_sample, k_critic, k_actor = jax.random.split(key, 3)
        batch = buffer.sample(buffer_state, k_sample).experience
        alpha = jnp.exp(log_alpha)

        (c_loss, q_mean), grads = critic_grad(critic, actor, target, alpha, batch, k_critic, hp)
        critic, critic_opt = adam_step(critic, grads, critic_opt, hp.critic_lr)

        # only the first argument is differentiated: the critics are constants here
        (a_loss, log_prob), grads = actor_grad(actor, critic, alpha, batch["obs"], k_actor)
        actor, actor_opt = adam_step(actor, grads, actor_opt, hp.actor_lr)

        if config.autotune:
            log_alpha, alpha_opt, alpha_loss = temperature_step(
                log_alpha, alpha_opt, log_prob, variant.target_entropy(hp), hp.alpha_lr)
        else:
            alpha_loss = jnp.zeros((), jnp.float32)

        target = polyak_update(critic, target, hp.tau)
        metrics = {"loss": c_loss + a_loss + alpha_loss, "critic_loss": c_loss,
                   "actor_loss": a_loss, "alpha_loss": alpha_loss, "alpha": alpha,
                   "q_mean": q_mean, "entropy": -log_prob}
        return (actor, critic, target, log_alpha, actor_opt, critic_opt, alpha_opt), metrics

    def learn(learner, buffer_state, hp, key):
        learner, metrics = jax.lax.scan(
            lambda c, k: gradient_step(c, buffer_state, hp, k), learner,
            jax.random.split(key, config.gradient_steps))
        return learner, jax.tree.map(jnp.mean, metrics)

    def skip(learner, buffer_state, hp, key):
        metrics = {k: jnp.zeros((), jnp.float32) for k in LEARNER_METRICS}
        return learner, {**metrics, "alpha": jnp.exp(learner[3])}

    def update(state: SACState):
        hp = state.hp
        key, k_act, k_rand, k_env, k_learn = jax.random.split(state.key, 5)
        warming_up = state.update_index * n_envs < config.learning_starts
        policy_action = variant.sample(state.actor, state.obs, k_act)
        action = jnp.where(warming_up, variant.uniform(k_rand, n_envs), policy_action)
        obs, env_state, reward, terminated, _, info = jax.vmap(
            env.step, in_axes=(0, 0, 0, None)
        )(jax.random.split(k_env, n_envs), state.env_state, variant.to_env(action), env_params)
        # AutoReset's final_observation is the pre-reset observation at every step, so it is
        # the true next observation whether or not the episode ended; truncation bootstraps.
        items = {"obs": state.obs, "action": action, "reward": reward.astype(jnp.float32),
                 "terminated": terminated, "next_obs": info["final_observation"]}
        buffer_state = buffer.add(state.buffer, items)
        learner = (state.actor, state.critic, state.target_critic, state.log_alpha,
                   state.actor_opt, state.critic_opt, state.alpha_opt)
        learner, metrics = jax.lax.cond(warming_up, skip, learn, learner, buffer_state, hp,
                                        k_learn)
        actor, critic, target, log_alpha, actor_opt, critic_opt, alpha_opt = learner
        update_index = state.update_index + 1
        new_state = SACState(actor, critic, target, log_alpha, actor_opt, critic_opt, alpha_opt,
                             buffer_state, env_state, obs, key, update_index, hp)
        metrics["env_steps"] = (update_index * n_envs).astype(jnp.float32)
        metrics["episode_return"] = finished_episode_mean(info)
        return new_state, metrics

    return TrainProgram(init=init, update=update, num_updates=config.total_timesteps // n_envs,
                        steps_per_update=n_envs)
