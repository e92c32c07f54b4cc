"""SAC for pipelined actors with sequence replay (Anokhin et al., ICLR 2025, "Handling Delay in
Real-Time Reinforcement Learning", SAC on MuJoCo).

The actor is a pipelined MLP (:class:`~jaxrl.pipeline.mlp.PipelineMLP`, relu) whose per-layer
activations are carried across environment steps, so its action at step ``t`` was computed from
observations up to ``N`` ticks old (``N`` = depth). The twin critics are ordinary undelayed MLPs on
``(o_t, a_t)`` (the paper's "undelayed critics"). Replay samples sequences instead of
transitions: a flashbax trajectory buffer stores, per step, ``obs, action, reward, terminated,
done, next_obs`` (AutoReset's pre-reset observation) and the actor's pipeline state that step's
tick consumed, and returns ``batch_size`` contiguous windows of ``seq_len = burn_in + N + 3``
steps of one environment.

Losses on a window (indices ``0 … L-1``):

* the actor is unrolled from the stored state at step 0; the first ``burn_in`` ticks carry no
  gradient (warm-up), the next ``N + 2`` are unrolled with gradient but have no loss term (their
  activations were partly computed with older parameters, as the paper's PPO skips the first
  ``N + 2`` steps), and the usual SAC actor loss applies to the last step (the paper: "apply the
  usual actor loss to the last action"), backpropagated through the pipeline state;
* the critics regress the last step's transition onto the soft Bellman target, whose next action
  comes from one more tick of the (current) pipeline on that step's next observation, continuing
  from the unrolled state (the actor's policy at ``s'``, not its undelayed forward pass).

Choices where the paper is silent: windows may cross episode boundaries: the unroll resets the
pipeline to its initial (zero) activations after every ``done`` step, exactly as acting does, so
the replayed activations equal the acting ones for unchanged parameters; only the last step of
a window is used by either loss (so the critics see ``batch_size`` uniformly drawn transitions per
step, as in ordinary SAC); ``burn_in`` defaults to 0 (the reference code's ``warm_up_seq``), the
stored state already being the one the actor had. With ``N = 1`` the pipeline is its ordinary
network and both losses reduce to :mod:`jaxrl.agents.sac`'s on the last steps of the windows.

Reused from :mod:`jaxrl.agents.sac`: twin critics, squashed Gaussian sampling, soft target, critic
and policy losses, temperature step, Polyak update, Adam step. Defaults are the paper's MuJoCo
values (the reference code's ``train_sac.py``): buffer 10⁶, γ 0.99, τ 0.005, batch 256, learning
starts 10⁴, policy lr 3e-4, Q lr 1e-3 (and α lr 1e-3, as the reference), policy updated every 2
gradient steps with 2 actor/α updates then (CleanRL's delayed policy update), auto-tuned α from
1, target entropy −|A|, actor width 256 and depth 3 (the reference's default: one hidden layer
between the input layer and the head), critics 256-256. On steps without a policy update
``actor_loss``, ``alpha_loss`` and ``entropy`` are reported as 0. Every stored step holds the
``(N − 1)·width`` pipeline activations (512 floats by default, about 2 GB per seed for a buffer
of 10⁶), since any step can start a window.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import flashbax as fbx
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from jaxrl import config as cfg
from jaxrl.agents.sac import (
    TwinQ,
    adam_init,
    adam_step,
    continuous_variant,
    gaussian_head,
    policy_loss,
    polyak_update,
    soft_q_target,
    squashed_gaussian_sample,
    temperature_step,
    trainable,
    twin_q_loss,
)
from jaxrl.metrics import finished_episode_mean
from jaxrl.pipeline.mlp import PipelineMLP
from jaxrl.pipeline.variants import VARIANTS
from jaxrl.program import TrainProgram
from jaxrl.training_env import training_env

LEARNER_METRICS = ("loss", "critic_loss", "actor_loss", "alpha_loss", "alpha", "q_mean",
                   "entropy")


@cfg.config_dataclass
class SACPipelineConfig:
    env: str = cfg.static_field("brax/halfcheetah")
    num_envs: int = cfg.static_field(1)
    total_timesteps: int = cfg.static_field(1_000_000)
    buffer_size: int = cfg.static_field(1_000_000)
    batch_size: int = cfg.static_field(256)
    learning_starts: int = cfg.static_field(10_000)
    gradient_steps: int = cfg.static_field(1)  # per update, i.e. per vectorised env step
    policy_frequency: int = cfg.static_field(2)
    variant: str = cfg.static_field("plain")
    depth: int = cfg.static_field(3)
    width: int = cfg.static_field(256)
    critic_hidden: tuple[int, ...] = cfg.static_field((256, 256))
    burn_in: int = cfg.static_field(0)
    autotune: bool = cfg.static_field(True)
    actor_lr: float = 3e-4
    critic_lr: float = 1e-3
    alpha_lr: float = 1e-3
    gamma: float = 0.99
    tau: float = 0.005
    alpha: float = 1.0  # initial temperature; the fixed one when autotune=False

    @property
    def seq_len(self) -> int:
        """Replayed window: ``burn_in`` warm-up ticks, ``N + 2`` skipped ticks, the loss step."""
        return self.burn_in + self.depth + 3

    def __post_init__(self):
        cfg.known_env(self)
        cfg.positive(self, "num_envs", "total_timesteps", "buffer_size", "batch_size",
                     "gradient_steps", "policy_frequency", "depth", "width", "actor_lr",
                     "critic_lr", "alpha_lr", "alpha")
        cfg.non_negative(self, "learning_starts", "burn_in")
        cfg.in_unit_interval(self, "gamma", "tau")
        cfg.one_of(self, "variant", VARIANTS)
        cfg.check(self, "autotune", lambda v: isinstance(v, (bool, np.bool_)), "True or False")
        h = self.critic_hidden
        if not (isinstance(h, tuple) and h and all(isinstance(x, (int, np.integer)) and x > 0
                                                   for x in h)):
            cfg.fail("SACPipelineConfig", "critic_hidden", h, "a non-empty tuple of positive ints")
        cfg.divides(self, "total_timesteps", "num_envs")
        cfg.check(self, "buffer_size", lambda b: b // self.num_envs >= self.seq_len,
                  f"at least num_envs*seq_len = {self.num_envs * self.seq_len} (every "
                  "environment's row holds whole windows)")
        cfg.check(self, "learning_starts", lambda s: s >= self.num_envs * self.seq_len,
                  f"at least num_envs*seq_len = {self.num_envs * self.seq_len} (a window of "
                  f"burn_in + depth + 3 = {self.seq_len} steps must be stored before learning)")


class PipelineGaussianActor(eqx.Module):
    """Pipelined ``obs -> (mean, log_std)`` of the pre-tanh Gaussian (log std as in SAC)."""

    net: PipelineMLP
    action_dim: int = eqx.field(static=True)

    def __init__(self, obs_size: int, action_dim: int, width: int, depth: int, key: jax.Array,
                 variant: str = "plain"):
        self.net = PipelineMLP(obs_size, width, depth, 2 * action_dim, key, variant, "relu",
                               out_scale=0.01)
        self.action_dim = action_dim

    def initial_state(self) -> jax.Array:
        return self.net.initial_state()

    def tick(self, state, obs):
        """One pipeline tick: ``(new state, (mean, log_std))``."""
        state, out = self.net.tick(state, obs)
        return state, gaussian_head(out, self.action_dim)

    def forward(self, obs):
        """The undelayed forward pass through the same layers."""
        return gaussian_head(self.net.forward(obs), self.action_dim)


def unroll_actor(actor: PipelineGaussianActor, state, obs, done):
    """Tick ``actor`` over one window ``obs[T]`` from ``state`` (the state step 0 consumed),
    resetting the pipeline to its initial activations after every step with ``done``.
    Returns ``(state after the last tick, (mean, log_std)[T])``."""
    initial = actor.initial_state()
    reset = jnp.concatenate([jnp.zeros((1,), bool), done[:-1]])

    def step(s, x):
        o, r = x
        s = jax.tree.map(lambda i, v: jnp.where(r, i, v), initial, s)
        return actor.tick(s, o)

    return jax.lax.scan(step, state, (obs, reset))


def window_policy(actor: PipelineGaussianActor, window: dict, burn_in: int):
    """The actor's ``(mean, log_std)`` at a window's last step and at that step's next
    observation (one more tick, no reset), unrolled from the stored state; the first
    ``burn_in`` ticks carry no gradient."""
    state = window["pstate"][0]
    obs, done = window["obs"], window["done"]
    if burn_in:
        state, _ = unroll_actor(actor, state, obs[:burn_in], done[:burn_in])
        state = jax.lax.stop_gradient(state)
        # the reset after a done at the last warm-up step happens before the next tick
        state = jnp.where(done[burn_in - 1], actor.initial_state(), state)
    state, (mean, log_std) = unroll_actor(actor, state, obs[burn_in:], done[burn_in:])
    _, next_dist = actor.tick(state, window["next_obs"][-1])
    return (mean[-1], log_std[-1]), next_dist


def last_step(windows: dict, name: str) -> jax.Array:
    return windows[name][:, -1]


def actor_loss(actor, critic, alpha, windows, key, q, burn_in: int):
    """SAC's actor loss at the windows' last steps; ``(loss, mean log π)``. ``q`` is the
    twin-critic reader of :func:`jaxrl.agents.sac.continuous_variant`."""
    (mean, log_std), _ = jax.vmap(window_policy, (None, 0, None))(actor, windows, burn_in)
    action, log_prob = squashed_gaussian_sample(mean, log_std, key)
    q_min = q(critic, last_step(windows, "obs"), action).min(-1)
    return policy_loss(q_min, log_prob, alpha), log_prob.mean()


def critic_loss(critic, actor, target, alpha, windows, key, q, gamma, burn_in: int):
    """Twin soft-Q loss on the windows' last transitions; ``(loss, mean Q)``."""
    _, next_dist = jax.vmap(window_policy, (None, 0, None))(actor, windows, burn_in)
    next_action, next_log_prob = squashed_gaussian_sample(*next_dist, key)
    next_q = q(target, last_step(windows, "next_obs"), next_action).min(-1)
    y = soft_q_target(last_step(windows, "reward"), last_step(windows, "terminated"), next_q,
                      next_log_prob, alpha, gamma)
    q_sa = q(critic, last_step(windows, "obs"), last_step(windows, "action"))  # (B, 2)
    return twin_q_loss(q_sa, y), q_sa.mean()


def make_sequence_replay(config: SACPipelineConfig):
    """Flashbax trajectory buffer: one row per environment, windows of ``config.seq_len``
    contiguous steps drawn uniformly (any start, never across the write position)."""
    return fbx.make_trajectory_buffer(
        add_batch_size=config.num_envs, sample_batch_size=config.batch_size,
        sample_sequence_length=config.seq_len, period=1,
        min_length_time_axis=config.seq_len,
        max_length_time_axis=config.buffer_size // config.num_envs)


class SACPipelineState(eqx.Module):
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
    pstate: jax.Array  # [num_envs, ...] the pipeline state the next tick consumes (post-reset)
    key: jax.Array
    update_index: jax.Array
    hp: SACPipelineConfig


def make_train(config: SACPipelineConfig, env=None, env_params=None) -> TrainProgram:
    """SAC with sequence replay for ``config``; ``env``/``env_params`` replace
    ``envs.make(config.env)`` (e.g. ``History(ActionHold(env, tau), k, m)``)."""
    env, env_params = training_env(config.env, env, env_params)
    obs_size = int(np.prod(env.observation_space(env_params).shape))
    space = env.action_space(env_params)
    if not isinstance(space, spaces.Box):
        cfg.fail("SACPipelineConfig", "env", config.env, "an environment with a Box action "
                 f"space (got {type(space).__name__})")
    variant = continuous_variant(obs_size, space, config.critic_hidden)
    action_dim = int(space.shape[0])
    n_envs, burn_in, n_pi = config.num_envs, config.burn_in, config.policy_frequency
    buffer = make_sequence_replay(config)

    def init(key, hp: SACPipelineConfig = config):
        k_actor, k_critic, k_env, key = jax.random.split(key, 4)
        actor = PipelineGaussianActor(obs_size, action_dim, config.width, config.depth, k_actor,
                                      config.variant)
        critic = TwinQ(obs_size + action_dim, 1, config.critic_hidden, k_critic)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_env, n_envs), env_params)
        pstate0 = actor.initial_state()
        item = {"obs": obs[0], "action": jnp.zeros((action_dim,), jnp.float32),
                "reward": jnp.float32(0.0), "terminated": jnp.bool_(False),
                "done": jnp.bool_(False), "next_obs": obs[0], "pstate": pstate0}
        log_alpha = jnp.log(jnp.asarray(hp.alpha, jnp.float32))
        return SACPipelineState(
            actor=actor, critic=critic, target_critic=critic, log_alpha=log_alpha,
            actor_opt=adam_init(trainable(actor)), critic_opt=adam_init(trainable(critic)),
            alpha_opt=adam_init(log_alpha), buffer=buffer.init(item), env_state=env_state,
            obs=obs, pstate=jnp.broadcast_to(pstate0, (n_envs, *pstate0.shape)), key=key,
            update_index=jnp.zeros((), jnp.int32), hp=hp)

    critic_grad = eqx.filter_value_and_grad(critic_loss, has_aux=True)
    actor_grad = eqx.filter_value_and_grad(actor_loss, has_aux=True)

    def policy_step(carry, key, critic, windows, hp):
        actor, log_alpha, actor_opt, alpha_opt = carry
        (a_loss, log_prob), grads = actor_grad(actor, critic, jnp.exp(log_alpha), windows, key,
                                               variant.q, burn_in)
        actor, actor_opt = adam_step(actor, grads, actor_opt, hp.actor_lr)
        if config.autotune:
            log_alpha, alpha_opt, alpha_loss = temperature_step(
                log_alpha, alpha_opt, log_prob, variant.target_entropy(hp), hp.alpha_lr)
        else:
            alpha_loss = jnp.zeros((), jnp.float32)
        return (actor, log_alpha, actor_opt, alpha_opt), (a_loss, alpha_loss, -log_prob)

    def gradient_step(learner, buffer_state, hp, key, index):
        actor, critic, target, log_alpha, actor_opt, critic_opt, alpha_opt = learner
        k_sample, k_critic, k_actor = jax.random.split(key, 3)
        windows = buffer.sample(buffer_state, k_sample).experience
        alpha = jnp.exp(log_alpha)
        (c_loss, q_mean), grads = critic_grad(critic, actor, target, alpha, windows, k_critic,
                                              variant.q, hp.gamma, burn_in)
        critic, critic_opt = adam_step(critic, grads, critic_opt, hp.critic_lr)

        def policy_updates(carry):  # n_pi actor/α updates against the new critics (CleanRL)
            carry, (a_loss, alpha_loss, entropy) = jax.lax.scan(
                lambda c, k: policy_step(c, k, critic, windows, hp), carry,
                jax.random.split(k_actor, n_pi))
            return carry, (a_loss.mean(), alpha_loss.mean(), entropy.mean())

        def no_update(carry):
            zero = jnp.zeros((), jnp.float32)
            return carry, (zero, zero, zero)

        (actor, log_alpha, actor_opt, alpha_opt), (a_loss, alpha_loss, entropy) = jax.lax.cond(
            index % n_pi == 0, policy_updates, no_update,
            (actor, log_alpha, actor_opt, alpha_opt))
        target = polyak_update(critic, target, hp.tau)
        metrics = {"loss": c_loss + a_loss + alpha_loss, "critic_loss": c_loss,
                   "actor_loss": a_loss, "alpha_loss": alpha_loss, "alpha": alpha,
                   "q_mean": q_mean, "entropy": entropy}
        return (actor, critic, target, log_alpha, actor_opt, critic_opt, alpha_opt), metrics

    def learn(learner, buffer_state, hp, key, first_index):
        indices = first_index + jnp.arange(config.gradient_steps)
        learner, metrics = jax.lax.scan(
            lambda c, x: gradient_step(c, buffer_state, hp, *x), learner,
            (jax.random.split(key, config.gradient_steps), indices))
        return learner, jax.tree.map(jnp.mean, metrics)

    def skip(learner, buffer_state, hp, key, first_index):
        metrics = {k: jnp.zeros((), jnp.float32) for k in LEARNER_METRICS}
        return learner, {**metrics, "alpha": jnp.exp(learner[3])}

    def update(state: SACPipelineState):
        hp = state.hp
        key, k_act, k_rand, k_env, k_learn = jax.random.split(state.key, 5)
        warming_up = state.update_index * n_envs < config.learning_starts
        # the actor ticks at every step (its pipeline runs during the warm-up too)
        pstate, (mean, log_std) = jax.vmap(state.actor.tick)(state.pstate, state.obs)
        policy_action = squashed_gaussian_sample(mean, log_std, k_act)[0]
        action = jnp.where(warming_up, variant.uniform(k_rand, n_envs), policy_action)
        obs, env_state, reward, terminated, truncated, info = jax.vmap(
            env.step, in_axes=(0, 0, 0, None)
        )(jax.random.split(k_env, n_envs), state.env_state, variant.to_env(action), env_params)
        done = jnp.logical_or(terminated, truncated)
        items = {"obs": state.obs, "action": action, "reward": reward.astype(jnp.float32),
                 "terminated": terminated, "done": done, "next_obs": info["final_observation"],
                 "pstate": state.pstate}
        buffer_state = buffer.add(state.buffer, jax.tree.map(lambda x: x[:, None], items))
        initial = state.actor.initial_state()
        pstate = jax.vmap(lambda d, s: jnp.where(d, initial, s))(done, pstate)
        learner = (state.actor, state.critic, state.target_critic, state.log_alpha,
                   state.actor_opt, state.critic_opt, state.alpha_opt)
        first_index = state.update_index * config.gradient_steps
        learner, metrics = jax.lax.cond(warming_up, skip, learn, learner, buffer_state, hp,
                                        k_learn, first_index)
        actor, critic, target, log_alpha, actor_opt, critic_opt, alpha_opt = learner
        update_index = state.update_index + 1
        new_state = SACPipelineState(actor, critic, target, log_alpha, actor_opt, critic_opt,
                                     alpha_opt, buffer_state, env_state, obs, pstate, key,
                                     update_index, hp)
        metrics["env_steps"] = (update_index * n_envs).astype(jnp.float32)
        metrics["episode_return"] = finished_episode_mean(info)
        return new_state, metrics

    return TrainProgram(init=init, update=update, num_updates=config.total_timesteps // n_envs,
                        steps_per_update=n_envs)
