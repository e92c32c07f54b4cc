"""PPO for pipelined actors with BPTT through the pipeline state (Anokhin et al., ICLR 2025,
"Handling Delay in Real-Time Reinforcement Learning", PPO on MinAtar).

The actor is a pipelined network (:mod:`jaxrl.pipeline`) whose per-layer activations are carried
through the rollout; the critic is an ordinary undelayed network on the current observation. The
loss replays each environment's rollout sequence from the pipeline state held at its start
(backpropagation through time over the whole rollout) and skips the policy terms of the first
``N + 2`` steps of every sequence, whose actions came from activations computed with older
parameters (``N`` = actor depth; 0 for the undelayed reference). Our choice where the paper is
silent: the value loss (of the undelayed critic) uses every step.

Reused from :mod:`jaxrl.agents.ppo`: the rollout record, runner state and action distributions;
from :mod:`jaxrl.gae`: bootstrapping on truncation and GAE. Minibatches are whole environment
sequences. Defaults are the paper's MinAtar values: lr 2.5e-4 annealed, 32 envs × 32 steps,
4 minibatches, 4 epochs, clip 0.1, entropy 0.01, value 0.5, λ 0.95, grad norm 0.5; actor
3×3 convolutions 32-64-64 then 512 units.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from jaxrl import config as cfg
from jaxrl.agents.ppo import (
    PPOState,
    Rollout,
    clipped_loss,
    make_distribution,
    make_minibatch_step,
)
from jaxrl.gae import bootstrap_values, gae
from jaxrl.metrics import finished_episode_mean
from jaxrl.networks.build import action_info, action_sizes
from jaxrl.pipeline.policy import NETWORKS, make_pipeline_actor_critic
from jaxrl.pipeline.variants import VARIANTS
from jaxrl.program import TrainProgram
from jaxrl.training_env import training_env


@cfg.config_dataclass
class PPOPipelineConfig:
    env: str = cfg.static_field("Breakout-MinAtar")
    num_envs: int = cfg.static_field(32)
    num_steps: int = cfg.static_field(32)
    total_timesteps: int = cfg.static_field(10_000_000)
    update_epochs: int = cfg.static_field(4)
    num_minibatches: int = cfg.static_field(4)
    network: str = cfg.static_field("cnn")
    variant: str = cfg.static_field("plain")
    undelayed: bool = cfg.static_field(False)
    depth: int = cfg.static_field(4)  # MLP actor only; a CNN actor has len(channels) + 2
    width: int = cfg.static_field(64)
    channels: tuple[int, ...] = cfg.static_field((32, 64, 64))
    hidden: int = cfg.static_field(512)
    activation: str = cfg.static_field("tanh")
    critic_hidden: tuple[int, ...] = cfg.static_field((64, 64))
    anneal_lr: bool = cfg.static_field(True)
    lr: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.1
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5

    @property
    def actor_depth(self) -> int:
        return self.depth if self.network == "mlp" else len(self.channels) + 2

    @property
    def burn_in(self) -> int:
        """Steps at the start of each sequence whose policy loss is skipped (``N + 2``)."""
        return 0 if self.undelayed else self.actor_depth + 2

    def __post_init__(self):
        cfg.known_env(self)
        cfg.positive(self, "num_envs", "num_steps", "total_timesteps", "update_epochs",
                     "num_minibatches", "depth", "width", "hidden", "lr", "max_grad_norm")
        cfg.non_negative(self, "clip_eps", "ent_coef", "vf_coef")
        cfg.in_unit_interval(self, "gamma", "gae_lambda")
        cfg.one_of(self, "network", NETWORKS)
        cfg.one_of(self, "variant", VARIANTS)
        cfg.check(self, "num_minibatches", lambda m: self.num_envs % m == 0,
                  f"a divisor of num_envs = {self.num_envs} (minibatches are whole sequences)")
        cfg.check(self, "num_steps", lambda t: t > self.burn_in,
                  f"more than the {self.burn_in} burn-in steps (actor depth + 2)")
        cfg.check(self, "total_timesteps", lambda t: t >= self.num_envs * self.num_steps,
                  f"at least num_envs*num_steps = {self.num_envs * self.num_steps}")


def make_train(config: PPOPipelineConfig, env=None, env_params=None) -> TrainProgram:
    """PPO-BPTT for ``config``; ``env``/``env_params`` replace ``envs.make(config.env)`` (e.g.
    ``History(ActionHold(env, tau), k, m)``)."""
    env, env_params = training_env(config.env, env, env_params)
    obs_shape = tuple(env.observation_space(env_params).shape)
    action_space = env.action_space(env_params)
    discrete, action_dim = action_info(action_space)
    sizes = action_sizes(action_space)
    if config.network == "cnn" and len(obs_shape) != 3:
        cfg.fail("PPOPipelineConfig", "network", "cnn",
                 f"'mlp' for observations of shape {obs_shape} (cnn needs (H, W, C))")
    if not discrete:
        low = jnp.broadcast_to(jnp.asarray(action_space.low, jnp.float32), (action_dim,))
        high = jnp.broadcast_to(jnp.asarray(action_space.high, jnp.float32), (action_dim,))
    n_envs, n_steps = config.num_envs, config.num_steps
    n_mb, n_epochs = config.num_minibatches, config.update_epochs
    num_updates = config.total_timesteps // (n_envs * n_steps)
    adam = optax.scale_by_adam(eps=1e-5)
    mask = (jnp.arange(n_steps) >= config.burn_in).astype(jnp.float32)[:, None]  # [T, 1]

    def network(key):
        return make_pipeline_actor_critic(
            key, obs_shape, action_space, config.network, config.variant, config.depth,
            config.width, config.channels, config.hidden, config.activation,
            config.critic_hidden, config.undelayed)

    def init(key, hp: PPOPipelineConfig = config):
        k_net, k_env, key = jax.random.split(key, 3)
        policy = network(k_net)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_env, n_envs), env_params)
        pstate = jax.tree.map(lambda x: jnp.broadcast_to(x, (n_envs, *x.shape)),
                              policy.initial_state())
        return PPOState(policy, adam.init(eqx.filter(policy, eqx.is_inexact_array)), env_state,
                        obs, pstate, jnp.ones((n_envs,), bool), key,
                        jnp.zeros((), jnp.int32), hp)

    def rollout_step(policy, carry, _):
        env_state, obs, pstate, reset, key = carry
        key, k_act, k_env = jax.random.split(key, 3)
        pstate2, dist_out, value = jax.vmap(policy)(pstate, obs, reset)
        dist = make_distribution(discrete, dist_out, policy.log_std, sizes)
        action = dist.sample(k_act)
        env_action = action if discrete else jnp.clip(action, low, high)
        obs2, env_state2, reward, terminated, truncated, info = jax.vmap(
            env.step, in_axes=(0, 0, 0, None))(jax.random.split(k_env, n_envs), env_state,
                                               env_action, env_params)
        final = jax.vmap(policy.critic)(info["final_observation"])  # the critic is undelayed
        step = Rollout(obs, reset, action, dist.log_prob(action), value,
                       reward.astype(jnp.float32), terminated, truncated, final)
        stats = {k: info[k] for k in
                 ("returned_episode", "returned_episode_return", "returned_episode_length")}
        done = jnp.logical_or(terminated, truncated)
        return (env_state2, obs2, pstate2, done, key), (step, stats)

    def replay(policy, pstate0, obs, reset):
        """Outputs over time-major ``[T, B]`` data from per-env pipeline states ``pstate0``."""
        def step(pstate, x):
            pstate, dist_out, value = jax.vmap(policy)(pstate, *x)
            return pstate, (dist_out, value)

        return jax.lax.scan(step, pstate0, (obs, reset))[1]

    def loss_fn(policy, hp, batch):
        pstate0, traj, adv, ret = batch
        dist_out, value = replay(policy, pstate0, traj.obs, traj.reset)
        dist = make_distribution(discrete, dist_out, policy.log_std, sizes)
        return clipped_loss(dist, value, traj, adv, ret, hp, mask)

    minibatch_step = make_minibatch_step(loss_fn, adam)

    def update(state: PPOState):
        hp = state.hp
        carry = (state.env_state, state.obs, state.policy_state, state.reset, state.key)
        carry, (traj, stats) = jax.lax.scan(
            lambda c, x: rollout_step(state.policy, c, x), carry, None, length=n_steps)
        env_state, obs, pstate, reset, key = carry
        last_value = jax.vmap(state.policy.critic)(obs)
        next_values = bootstrap_values(traj.value, last_value, traj.final, traj.terminated,
                                       traj.truncated)
        continues = 1.0 - jnp.logical_or(traj.terminated, traj.truncated)
        adv, ret = gae(traj.reward, traj.value, next_values, continues, hp.gamma, hp.gae_lambda)
        frac = 1.0 - state.update_index / num_updates if config.anneal_lr else 1.0
        lr = hp.lr * frac

        def epoch(carry, key):
            perm = jax.random.permutation(key, n_envs)

            def split(x, axis):  # whole sequences: minibatch over the env axis
                x = jnp.take(x, perm, axis=axis)
                x = x.reshape(*x.shape[:axis], n_mb, n_envs // n_mb, *x.shape[axis + 1:])
                return jnp.moveaxis(x, axis, 0)

            mbs = (jax.tree.map(lambda x: split(x, 0), state.policy_state),
                   *jax.tree.map(lambda x: split(x, 1), (traj, adv, ret)))
            return jax.lax.scan(minibatch_step, carry, mbs)

        key, k_epochs = jax.random.split(key)
        (policy, opt_state, _, _), losses = jax.lax.scan(
            epoch, (state.policy, state.opt_state, hp, lr), jax.random.split(k_epochs, n_epochs))
        new_state = PPOState(policy, opt_state, env_state, obs, pstate, reset, key,
                             state.update_index + 1, hp)
        metrics = {k: v.mean() for k, v in losses.items()}
        metrics["env_steps"] = ((state.update_index + 1) * n_steps * n_envs).astype(jnp.float32)
        metrics["episode_return"] = finished_episode_mean(stats)
        metrics["episode_length"] = finished_episode_mean(stats, "returned_episode_length")
        return new_state, metrics

    return TrainProgram(init=init, update=update, num_updates=num_updates,
                        steps_per_update=n_steps * n_envs)
