"""Proximal Policy Optimisation (Schulman et al. 2017): clipped surrogate (eq. 7), clipped value
loss and entropy bonus (eq. 9), GAE (Schulman et al. 2016) that bootstraps on truncation.

One implementation serves discrete and continuous actions and feed-forward and recurrent
policies: the policy interface (``jaxrl.networks.actor_critic``) carries a pytree state that is
``()`` for feed-forward networks. Feed-forward minibatches are drawn from all ``T·B`` samples;
recurrent minibatches are whole environment sequences replayed from the state held at the
rollout's start (truncated BPTT over the rollout, as in purejaxrl's recurrent PPO).

Defaults are purejaxrl's CartPole-v1 values (4 envs × 128 steps, 4 epochs, 4 minibatches,
lr 2.5e-4 annealed linearly, γ 0.99, λ 0.95, clip 0.2, entropy 0.01, value 0.5, grad-norm 0.5,
two tanh layers of 64). Hyperparameter leaves of the config live in the runner state, so
``jax.vmap(train)(keys, configs)`` sweeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jaxrl import config as cfg
from jaxrl import distributions
from jaxrl.distributions import Categorical, DiagGaussian
from jaxrl.gae import bootstrap_values, gae
from jaxrl.metrics import finished_episode_mean
from jaxrl.networks.build import (
    CELLS,
    TORSOS,
    action_info,
    action_sizes,
    make_actor_critic,
)
from jaxrl.optim import clip_by_global_norm
from jaxrl.program import TrainProgram
from jaxrl.training_env import training_env


@cfg.config_dataclass
class PPOConfig:
    env: str = cfg.static_field("CartPole-v1")
    num_envs: int = cfg.static_field(4)
    num_steps: int = cfg.static_field(128)
    total_timesteps: int = cfg.static_field(500_000)
    update_epochs: int = cfg.static_field(4)
    num_minibatches: int = cfg.static_field(4)
    network: str = cfg.static_field("mlp")
    hidden: tuple[int, ...] = cfg.static_field((64, 64))
    activation: str = cfg.static_field("tanh")
    cell: str = cfg.static_field("none")
    cell_size: int = cfg.static_field(128)
    anneal_lr: bool = cfg.static_field(True)
    lr: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5

    def __post_init__(self):
        cfg.known_env(self)
        cfg.positive(
            self, "num_envs", "num_steps", "total_timesteps", "update_epochs", "num_minibatches",
            "cell_size", "lr", "max_grad_norm",
        )
        cfg.non_negative(self, "clip_eps", "ent_coef", "vf_coef")
        cfg.in_unit_interval(self, "gamma", "gae_lambda")
        cfg.one_of(self, "network", TORSOS)
        cfg.one_of(self, "cell", CELLS)
        cfg.check(self, "hidden", lambda h: len(h) > 0 and all(int(x) > 0 for x in h),
                  "a non-empty tuple of positive layer sizes")
        cfg.check(self, "total_timesteps", lambda t: t >= self.num_envs * self.num_steps,
                  f"at least num_envs*num_steps = {self.num_envs * self.num_steps}")
        if self.cell == "none":
            batch = self.num_envs * self.num_steps
            cfg.check(self, "num_minibatches", lambda m: batch % m == 0,
                      f"a divisor of num_envs*num_steps = {batch}")
        else:
            cfg.check(self, "num_minibatches", lambda m: self.num_envs % m == 0,
                      f"a divisor of num_envs = {self.num_envs} (recurrent minibatches are "
                      "whole environment sequences)")


class PPOState(eqx.Module):
    policy: Any
    opt_state: Any
    env_state: Any
    obs: jax.Array
    policy_state: Any
    reset: jax.Array
    key: jax.Array
    update_index: jax.Array
    hp: PPOConfig


@struct.dataclass
class Rollout:
    obs: jax.Array
    reset: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final: jax.Array  # V(final observation) (per-step path) or the final observation itself


def make_distribution(discrete: bool, dist_out, log_std, sizes=None):
    """Categorical, MultiCategorical (several discrete heads of ``sizes``) or DiagGaussian."""
    return distributions.make_distribution(dist_out, None if discrete else log_std, sizes)


def clipped_loss(dist, value, traj, adv, ret, hp, mask=None):
    """PPO's clipped surrogate (eq. 7), clipped value loss and entropy bonus (eq. 9) for one
    minibatch, with advantages normalised over it. ``mask`` (broadcast to ``adv``) restricts the
    policy terms and the advantage statistics to the steps it marks (the value loss always
    uses every step); without it they are plain means. Returns ``(total, aux)``."""
    log_prob = dist.log_prob(traj.action)
    ratio = jnp.exp(log_prob - traj.log_prob)
    if mask is None:
        mean = jnp.mean
        adv_n = (adv - adv.mean()) / (adv.std() + 1e-8)
    else:
        w = jnp.broadcast_to(mask, adv.shape)
        mean = lambda x: (x * w).sum() / w.sum()
        adv_mean = mean(adv)
        adv_n = (adv - adv_mean) / (jnp.sqrt(mean((adv - adv_mean) ** 2)) + 1e-8)
    pg_loss = -mean(jnp.minimum(
        ratio * adv_n, jnp.clip(ratio, 1 - hp.clip_eps, 1 + hp.clip_eps) * adv_n))
    v_clip = traj.value + jnp.clip(value - traj.value, -hp.clip_eps, hp.clip_eps)
    v_loss = 0.5 * jnp.maximum((value - ret) ** 2, (v_clip - ret) ** 2).mean()
    entropy = mean(dist.entropy())
    total = pg_loss + hp.vf_coef * v_loss - hp.ent_coef * entropy
    approx_kl = mean((ratio - 1) - jnp.log(ratio))
    return total, {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": entropy,
                   "approx_kl": approx_kl}


def make_minibatch_step(loss_fn, adam):
    """``(policy, opt_state, hp, lr), batch -> (...), metrics``: one clipped-gradient Adam step
    on ``loss_fn(policy, hp, batch) -> (loss, aux)`` with learning rate ``lr``."""
    grad_fn = eqx.filter_value_and_grad(loss_fn, has_aux=True)

    def minibatch_step(carry, batch):
        policy, opt_state, hp, lr = carry
        (loss, aux), grads = grad_fn(policy, hp, batch)
        grads = clip_by_global_norm(grads, hp.max_grad_norm)
        updates, opt_state = adam.update(grads, opt_state)
        updates = jax.tree.map(lambda u: -lr * u, updates)
        policy = eqx.apply_updates(policy, updates)
        return (policy, opt_state, hp, lr), {"loss": loss, **aux}

    return minibatch_step


def make_train(
    config: PPOConfig,
    network_fn: Callable[[jax.Array, tuple, Any], eqx.Module] | None = None,
    env=None,
    env_params=None,
) -> TrainProgram:
    """Build PPO for ``config``.

    ``network_fn(key, obs_shape, action_space) -> policy`` replaces the config's network with any
    policy that follows the ``jaxrl.networks.actor_critic`` interface. ``env``/``env_params``
    replace ``envs.make(config.env)`` (e.g. an environment wrapped in a memory wrapper).
    """
    env, env_params = training_env(config.env, env, env_params)
    obs_shape = tuple(env.observation_space(env_params).shape)
    action_space = env.action_space(env_params)
    discrete, action_dim = action_info(action_space)
    sizes = action_sizes(action_space)
    if network_fn is None:
        def network_fn(key, obs_shape, action_space):
            return make_actor_critic(key, obs_shape, action_space, config.network,
                                     config.hidden, config.activation, config.cell,
                                     config.cell_size)
    if not discrete:
        low = jnp.broadcast_to(jnp.asarray(action_space.low, jnp.float32), (action_dim,))
        high = jnp.broadcast_to(jnp.asarray(action_space.high, jnp.float32), (action_dim,))

    n_envs, n_steps = config.num_envs, config.num_steps
    num_updates = config.total_timesteps // (n_envs * n_steps)
    n_mb, n_epochs = config.num_minibatches, config.update_epochs
    adam = optax.scale_by_adam(eps=1e-5)
    state_shape = jax.eval_shape(
        lambda k: network_fn(k, obs_shape, action_space).initial_state(), jax.random.key(0)
    )
    recurrent = bool(jax.tree.leaves(state_shape))
    # Feed-forward policies evaluate V(final observation) only where an episode was truncated:
    # with a time limit of m steps an environment truncates at most ceil(T/m) times in a
    # rollout of T steps. Recurrent policies (whose value needs the state) and environments
    # without a known time limit evaluate it at every step.
    limit = getattr(env_params, "max_steps_in_episode", None)
    max_truncations = None
    if not recurrent and isinstance(limit, (int, np.integer)) and limit > 0:
        max_truncations = n_envs * -(-n_steps // int(limit))
    if recurrent and n_envs % n_mb:
        cfg.fail("PPOConfig", "num_minibatches", n_mb,
                 f"a divisor of num_envs = {n_envs} for a recurrent policy")

    def init(key, hp: PPOConfig = config):
        k_net, k_env, key = jax.random.split(key, 3)
        policy = network_fn(k_net, obs_shape, action_space)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_env, n_envs), env_params
        )
        pstate = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (n_envs, *x.shape)), policy.initial_state()
        )
        return PPOState(
            policy=policy,
            opt_state=adam.init(eqx.filter(policy, eqx.is_inexact_array)),
            env_state=env_state,
            obs=obs,
            policy_state=pstate,
            reset=jnp.ones((n_envs,), bool),
            key=key,
            update_index=jnp.zeros((), jnp.int32),
            hp=hp,
        )

    def act(policy, pstate, obs, reset):
        return jax.vmap(policy)(pstate, obs, reset)

    noise_fn = (Categorical if discrete else DiagGaussian).noise

    def rollout_noise(key):
        """The whole rollout's action noise and environment keys, drawn in two calls."""
        k_act, k_env = jax.random.split(key)
        return (noise_fn(k_act, (n_steps, n_envs, action_dim)),
                jax.random.split(k_env, (n_steps, n_envs)))

    def rollout_step(policy, carry, xs):
        env_state, obs, pstate, reset = carry
        noise, env_keys = xs
        new_pstate, dist_out, value = act(policy, pstate, obs, reset)
        dist = make_distribution(discrete, dist_out, policy.log_std, sizes)
        action = dist.sample_with(noise)
        log_prob = dist.log_prob(action)
        env_action = action if discrete else jnp.clip(action, low, high)
        obs2, env_state2, reward, terminated, truncated, info = jax.vmap(
            env.step, in_axes=(0, 0, 0, None)
        )(env_keys, env_state, env_action, env_params)
        if max_truncations is None:  # evaluate V(final observation) at every step
            final = act(policy, new_pstate, info["final_observation"],
                        jnp.zeros((n_envs,), bool))[2]
        else:  # keep it; only the truncated ones are evaluated after the rollout
            final = info["final_observation"]
        done = jnp.logical_or(terminated, truncated)
        step = Rollout(obs, reset, action, log_prob, value, reward.astype(jnp.float32),
                       terminated, truncated, final)
        stats = {k: info[k] for k in
                 ("returned_episode", "returned_episode_return", "returned_episode_length")}
        return (env_state2, obs2, new_pstate, done), (step, stats)

    def truncated_values(policy, traj):
        """``V(final observation)`` where an episode was truncated (``[T, B]``, else 0), and the
        number of truncations beyond the static bound (which then bootstrap from 0)."""
        if max_truncations is None:
            return traj.final, jnp.zeros((), jnp.int32)
        flat = traj.truncated.reshape(-1)
        count = flat.sum()
        (idx,) = jnp.nonzero(flat, size=max_truncations, fill_value=0)
        obs = traj.final.reshape(-1, *traj.final.shape[2:])[idx]
        values = act(policy, (), obs, jnp.zeros((max_truncations,), bool))[2]
        values = jnp.where(jnp.arange(max_truncations) < count, values, 0.0)
        out = jnp.zeros(flat.shape, values.dtype).at[idx].add(values)
        return out.reshape(traj.truncated.shape), jnp.maximum(count - max_truncations, 0)

    def evaluate(policy, pstate0, obs, reset):
        """Replay the policy over time-major ``[T, B]`` data from per-env states ``pstate0``."""
        def step(pstate, x):
            o, r = x
            pstate, dist_out, value = act(policy, pstate, o, r)
            return pstate, (dist_out, value)

        if not recurrent:  # one batched call; no state to carry through time
            _, dist_out, value = act(policy, (), obs[0], reset[0])
            return dist_out[None], value[None]
        _, (dist_out, value) = jax.lax.scan(step, pstate0, (obs, reset))
        return dist_out, value

    def loss_fn(policy, hp, batch):
        pstate0, traj, adv, ret = batch
        dist_out, value = evaluate(policy, pstate0, traj.obs, traj.reset)
        dist = make_distribution(discrete, dist_out, policy.log_std, sizes)
        return clipped_loss(dist, value, traj, adv, ret, hp)

    minibatch_step = make_minibatch_step(loss_fn, adam)

    def update(state: PPOState):
        hp = state.hp
        pstate0 = state.policy_state
        key, k_rollout = jax.random.split(state.key)
        carry = (state.env_state, state.obs, state.policy_state, state.reset)
        carry, (traj, stats) = jax.lax.scan(
            lambda c, x: rollout_step(state.policy, c, x), carry, rollout_noise(k_rollout)
        )
        env_state, obs, pstate, reset = carry
        last_value = act(state.policy, pstate, obs, reset)[2]
        final_values, dropped = truncated_values(state.policy, traj)
        next_values = bootstrap_values(traj.value, last_value, final_values,
                                       traj.terminated, traj.truncated)
        continues = 1.0 - jnp.logical_or(traj.terminated, traj.truncated)
        adv, ret = gae(traj.reward, traj.value, next_values, continues, hp.gamma,
                       hp.gae_lambda)

        # The loss reads only these fields: shuffling the rest would be wasted copies.
        traj = traj.replace(reward=None, terminated=None, truncated=None, final=None)
        if recurrent:
            data = (pstate0, traj, adv, ret)  # minibatch over envs: axis 1 ([T, B])
        else:  # samples are independent: one "time step" of T*B "sequences"
            flat = lambda x: x.reshape(1, n_steps * n_envs, *x.shape[2:])
            data = ((), jax.tree.map(flat, traj), flat(adv), flat(ret))
        frac = 1.0 - state.update_index / num_updates if config.anneal_lr else 1.0
        lr = hp.lr * frac

        def epoch(carry, key):
            n = (n_envs if recurrent else n_steps * n_envs)
            perm = jax.random.permutation(key, n)

            def split(x, axis):
                x = jnp.take(x, perm, axis=axis)
                x = x.reshape(*x.shape[:axis], n_mb, n // n_mb, *x.shape[axis + 1:])
                return jnp.moveaxis(x, axis, 0)

            p0, tr, a, r = data
            mbs = (jax.tree.map(lambda x: split(x, 0), p0),
                   jax.tree.map(lambda x: split(x, 1), (tr, a, r)))
            mbs = (mbs[0], *mbs[1])
            return jax.lax.scan(minibatch_step, carry, mbs)

        key, k_epochs = jax.random.split(key)
        (policy, opt_state, _, _), losses = jax.lax.scan(
            epoch, (state.policy, state.opt_state, hp, lr), jax.random.split(k_epochs, n_epochs)
        )
        new_state = PPOState(policy, opt_state, env_state, obs, pstate, reset, key,
                             state.update_index + 1, hp)
        metrics = {k: v.mean() for k, v in losses.items()}
        metrics["env_steps"] = ((state.update_index + 1) * n_steps * n_envs).astype(jnp.float32)
        metrics["episode_return"] = finished_episode_mean(stats)
        metrics["episode_length"] = finished_episode_mean(stats, "returned_episode_length")
        metrics["truncations_not_bootstrapped"] = dropped.astype(jnp.float32)
        return new_state, metrics

    return TrainProgram(init=init, update=update, num_updates=num_updates,
                        steps_per_update=n_steps * n_envs)
