"""Deep Q-Network (Mnih et al. 2015, Algorithm 1), with Double DQN targets (van Hasselt et al.
2016), Polyak target updates and the Huber loss as options.

One ``update`` is one vectorised environment step (``num_envs`` transitions into a uniform
replay buffer) followed, when due, by gradient steps on the TD loss
``(Q(s, a) − y)²`` with ``y = r + γ (1 − terminated) max_a' Q_target(s', a')``. Gradient steps
are due at the same environment-step counts as in CleanRL: once every ``train_frequency``
environment steps after the first ``learning_starts`` (so ``num_envs / train_frequency``
gradient steps per update when ``train_frequency < num_envs``). The target network moves to
``τ·online + (1 − τ)·target`` every ``target_update_interval`` environment steps.

Choices where the paper is silent or differs:

* Truncation: the stored ``next_obs`` is ``info["final_observation"]`` and the bootstrap mask
  is ``terminated``, not ``done``, so time limits bootstrap (the paper's Atari episodes have
  no time limit in the MDP).
* Loss ``"mse"`` is CleanRL's mean squared TD error; ``"huber"`` (δ = 1) is the paper's error
  clipping to [−1, 1].
* Adam (as CleanRL and purejaxrl), not the paper's RMSProp; global-norm gradient clipping with
  ``max_grad_norm`` (default ``inf``: none, as in CleanRL).
* The stored action is ``info["applied_action"]`` when the environment reports one (the
  realtime wrapper of Riemer et al. 2025 applies a stale or a default action instead of the
  agent's), so ``Q(s, a)`` learns the value of the action the environment actually took in ``s``;
  otherwise the agent's own action.
* ε decays linearly from ``epsilon_start`` to ``epsilon_end`` over the first
  ``exploration_fraction · total_timesteps`` environment steps, then stays.
* Demonstrations (``make_train(..., demonstrations=fn)``): DQfD (Hester et al. 2018, eq. 5)
  with uniform sampling. ``init`` records ``fn(key)`` (a batch of transitions, e.g.
  :func:`jaxrl.demonstrations.collect`), kept apart from the replay buffer for the whole run,
  and takes ``pretrain_updates`` gradient steps on it alone (the realtime-RL paper's Tetris DQN
  pretrains 16 000 steps on a human game, Riemer et al. 2025), the target network copied every
  ``target_update_interval`` environment steps' worth of gradient steps. Every later gradient
  step adds a demonstration batch of ``batch_size`` to the replay batch. On demonstrations the
  loss is the TD loss plus ``demo_weight`` times the large-margin loss
  ``max_a [Q(s, a) + demo_margin·1(a ≠ a_E)] − Q(s, a_E)`` (DQfD's λ₂ = 1 and margin 0.8;
  ``demo_weight = 0`` is the paper's plain TD pretraining). DQfD's n-step and L2 terms and its
  prioritised replay are left out.

Defaults are the CartPole-v1 values of CleanRL's ``dqn_jax.py`` and purejaxrl's ``dqn.py``
(10 envs as purejaxrl, buffer 10 000, batch 128, lr 2.5e-4, learning starts 10 000, train
every 10 env steps, hard target update every 500, γ 0.99, ε 1 → 0.05 over half of 500 000
steps, ReLU MLP 120-84, MSE loss, no gradient clipping). Hyperparameter leaves of the config
live in the runner state, so ``jax.vmap(train)(keys, configs)`` sweeps them.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from gymnax.environments import spaces

from jaxrl import config as cfg
from jaxrl.metrics import finished_episode_mean
from jaxrl.networks.impala_cnn import ImpalaCNN
from jaxrl.networks.minatar_cnn import MinAtarCNN
from jaxrl.networks.mlp import MLP
from jaxrl.optim import clip_by_global_norm
from jaxrl.program import TrainProgram
from jaxrl.replay import Transition, make_uniform_replay
from jaxrl.training_env import training_env

NETWORKS = ("mlp", "minatar_cnn", "impala_cnn")
LOSSES = ("mse", "huber")


@cfg.config_dataclass
class DQNConfig:
    env: str = cfg.static_field("CartPole-v1")
    num_envs: int = cfg.static_field(10)
    total_timesteps: int = cfg.static_field(500_000)
    buffer_size: int = cfg.static_field(10_000)
    batch_size: int = cfg.static_field(128)
    learning_starts: int = cfg.static_field(10_000)  # env steps of pure exploration
    train_frequency: int = cfg.static_field(10)  # env steps between gradient steps
    target_update_interval: int = cfg.static_field(500)  # env steps between target updates
    network: str = cfg.static_field("mlp")
    hidden: tuple[int, ...] = cfg.static_field((120, 84))
    width: int = cfg.static_field(1)  # impala_cnn channel multiplier (the model-size knob)
    loss: str = cfg.static_field("mse")
    double_dqn: bool = cfg.static_field(False)
    lr: float = 2.5e-4
    gamma: float = 0.99
    tau: float = 1.0  # 1.0 = hard copy
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    exploration_fraction: float = 0.5
    max_grad_norm: float = float("inf")
    pretrain_updates: int = cfg.static_field(0)  # gradient steps on demonstrations at init
    demo_margin: float = 0.8  # DQfD's large margin
    demo_weight: float = 1.0  # DQfD's λ₂ (0: plain TD on demonstrations)

    def __post_init__(self):
        cfg.known_env(self)
        cfg.positive(self, "num_envs", "total_timesteps", "buffer_size", "batch_size",
                     "train_frequency", "target_update_interval", "lr", "width")
        cfg.non_negative(self, "learning_starts", "pretrain_updates", "demo_margin",
                         "demo_weight")
        cfg.in_unit_interval(self, "gamma", "epsilon_start", "epsilon_end",
                             "exploration_fraction")
        cfg.check(self, "tau", lambda t: 0 < t <= 1, "a number in (0, 1]")
        cfg.check(self, "max_grad_norm", lambda m: m > 0, "a number > 0 (inf: no clipping)")
        cfg.one_of(self, "network", NETWORKS)
        cfg.one_of(self, "loss", LOSSES)
        _check_hidden(self, minimum=0 if self.network == "mlp" else 1)
        cfg.divides(self, "total_timesteps", "num_envs")
        cfg.divides(self, "target_update_interval", "num_envs")
        cfg.check(self, "train_frequency",
                  lambda f: self.num_envs % f == 0 or f % self.num_envs == 0,
                  f"a divisor or a multiple of num_envs={self.num_envs}")
        cfg.check(self, "buffer_size", lambda b: b >= self.num_envs,
                  f"at least num_envs={self.num_envs}")
        cfg.check(self, "batch_size", lambda b: b <= self.buffer_size,
                  f"at most buffer_size={self.buffer_size}")


def _check_hidden(config, minimum: int) -> None:
    h = config.hidden
    ok = isinstance(h, tuple) and len(h) >= minimum and all(
        isinstance(x, (int, np.integer)) and x > 0 for x in h)
    if not ok:
        cfg.fail(type(config).__name__, "hidden", h,
                 f"a tuple of at least {minimum} positive layer sizes")


def _check_demonstrations(demonstrations, obs_shape, batch_size: int) -> None:
    """Shape-check ``demonstrations(key)`` (traced, nothing computed) against the environment."""
    demos = jax.eval_shape(demonstrations, jax.random.key(0))
    if not isinstance(demos, Transition):
        raise TypeError("demonstrations(key) must return a jaxrl.replay.Transition, got "
                        f"{type(demos).__name__}")
    size = demos.obs.shape[0] if demos.obs.ndim else 0
    for name in ("obs", "next_obs"):
        shape = tuple(getattr(demos, name).shape)
        if shape != (size, *obs_shape):
            raise ValueError(f"demonstrations(key).{name} has shape {shape}: expected "
                             f"(items, *{obs_shape}) for this environment")
    for name in ("action", "reward", "terminated"):
        if tuple(getattr(demos, name).shape) != (size,):
            raise ValueError(f"demonstrations(key).{name} has shape "
                             f"{tuple(getattr(demos, name).shape)}: expected ({size},)")
    if size < batch_size:
        raise ValueError(f"demonstrations(key) has {size} transitions: expected at least "
                         f"batch_size={batch_size}")


class QNetwork(eqx.Module):
    """Observation → one Q-value per action. ``mlp``: the flattened observation through
    ``hidden`` ReLU layers. ``minatar_cnn``: the MinAtar torso (Young & Tian 2019) with a dense
    layer of ``hidden[0]`` units, then ``hidden[1:]`` ReLU layers. ``impala_cnn``: the IMPALA
    torso (Espeholt et al. 2018) with channels × ``width`` and a dense layer of ``hidden[0]``
    units, the network whose width the realtime-RL paper scales (Riemer et al. 2025, §5)."""

    torso: MinAtarCNN | ImpalaCNN | None
    head: MLP

    def __init__(self, obs_shape, num_actions: int, network: str, hidden, key, width: int = 1):
        k_torso, k_head = jax.random.split(key)
        if network in ("minatar_cnn", "impala_cnn"):
            self.torso = (MinAtarCNN(tuple(obs_shape), k_torso, hidden=hidden[0])
                          if network == "minatar_cnn" else
                          ImpalaCNN(tuple(obs_shape), k_torso, width=width, hidden=hidden[0]))
            in_size, hidden = hidden[0], hidden[1:]
        else:
            self.torso = None
            in_size = int(np.prod(obs_shape))
        self.head = MLP(in_size, hidden, num_actions, k_head, "relu")

    def __call__(self, obs: jax.Array) -> jax.Array:
        if self.torso is None:
            return self.head(obs.reshape(-1).astype(jnp.float32))
        return self.head(self.torso(obs))


class DQNState(eqx.Module):
    online: QNetwork
    target: QNetwork
    opt_state: Any
    buffer_state: Any
    env_state: Any
    obs: jax.Array
    key: jax.Array
    env_steps: jax.Array  # int32, environment steps so far (all envs)
    hp: DQNConfig
    demos: Transition | None = None  # DQfD demonstrations, kept for the whole run


def linear_epsilon(hp, env_steps):
    """ε after ``env_steps`` steps: linear from ``epsilon_start`` to ``epsilon_end`` over the
    first ``exploration_fraction · total_timesteps`` steps (CleanRL's ``linear_schedule``)."""
    duration = hp.exploration_fraction * hp.total_timesteps
    frac = jnp.clip(env_steps / jnp.maximum(duration, 1.0), 0.0, 1.0)
    return hp.epsilon_start + frac * (hp.epsilon_end - hp.epsilon_start)


def epsilon_greedy(key, q_values, epsilon):
    """Greedy actions of ``q_values`` (last axis = actions), each replaced by a uniform random
    action with probability ``epsilon``."""
    k_explore, k_action = jax.random.split(key)
    greedy = jnp.argmax(q_values, axis=-1)
    random = jax.random.randint(k_action, greedy.shape, 0, q_values.shape[-1])
    explore = jax.random.uniform(k_explore, greedy.shape) < epsilon
    return jnp.where(explore, random, greedy).astype(jnp.int32)


def td_loss(online, target, batch: Transition, hp, double_dqn: bool, loss: str):
    """Mean TD loss of ``online`` on ``batch`` against targets from ``target`` (eq. 2 of Mnih
    et al.; with ``double_dqn`` the next action is chosen by ``online``, van Hasselt eq. 4)."""
    q = jax.vmap(online)(batch.obs)
    q_sa = jnp.take_along_axis(q, batch.action[:, None], axis=-1)[:, 0]
    q_next = jax.vmap(target)(batch.next_obs)
    if double_dqn:
        a_next = jnp.argmax(jax.vmap(online)(batch.next_obs), axis=-1)
        v_next = jnp.take_along_axis(q_next, a_next[:, None], axis=-1)[:, 0]
    else:
        v_next = q_next.max(axis=-1)
    y = batch.reward + hp.gamma * (1.0 - batch.terminated) * v_next
    err = q_sa - jax.lax.stop_gradient(y)
    if loss == "huber":
        return optax.huber_loss(err, delta=1.0).mean()
    return (err**2).mean()


def margin_loss(online, batch: Transition, margin):
    """DQfD's large-margin loss (Hester et al. 2018, eq. 4), mean over ``batch``:
    ``max_a [Q(s, a) + margin·1(a ≠ a_E)] − Q(s, a_E)`` with ``a_E = batch.action``."""
    q = jax.vmap(online)(batch.obs)
    q_e = jnp.take_along_axis(q, batch.action[:, None], axis=-1)[:, 0]
    penalty = margin * (1.0 - jax.nn.one_hot(batch.action, q.shape[-1], dtype=q.dtype))
    return (jnp.max(q + penalty, axis=-1) - q_e).mean()


def polyak_update(online, target, tau, sync):
    """``τ·online + (1 − τ)·target`` where ``sync``, else ``target`` (τ = 1: a hard copy)."""
    params = jax.tree.map(lambda o, t: jnp.where(sync, tau * o + (1.0 - tau) * t, t),
                          eqx.filter(online, eqx.is_inexact_array),
                          eqx.filter(target, eqx.is_inexact_array))
    return eqx.combine(params, target)


def discrete_actions(env, env_params, cls_name: str, field: str, value) -> int:
    space = env.action_space(env_params)
    if not isinstance(space, spaces.Discrete):
        cfg.fail(cls_name, field, value, "an environment with a discrete action space")
    return int(space.n)


def make_train(config: DQNConfig, env=None, env_params=None,
               demonstrations=None) -> TrainProgram:
    """Build DQN for ``config``; ``env``/``env_params`` replace ``envs.make(config.env)``.
    ``demonstrations(key) -> Transition`` (a leading batch axis) are DQfD's demonstrations
    (see the module docstring)."""
    if config.pretrain_updates and demonstrations is None:
        cfg.fail("DQNConfig", "pretrain_updates", config.pretrain_updates,
                 "0 when make_train is given no demonstrations")
    env, env_params = training_env(config.env, env, env_params)
    num_actions = discrete_actions(env, env_params, "DQNConfig", "env", config.env)
    obs_shape = tuple(env.observation_space(env_params).shape)
    if demonstrations is not None:
        _check_demonstrations(demonstrations, obs_shape, config.batch_size)
    if config.network != "mlp" and len(obs_shape) != 3:
        cfg.fail("DQNConfig", "network", config.network,
                 f"'mlp' for observations of shape {obs_shape} ('{config.network}' needs "
                 "(H, W, C))")

    n_envs = config.num_envs
    num_updates = config.total_timesteps // n_envs
    grads_per_update = max(1, n_envs // config.train_frequency)
    grad_period = max(n_envs, config.train_frequency)  # env steps between gradient phases
    buffer = make_uniform_replay(config.buffer_size, config.batch_size)
    adam = optax.scale_by_adam()

    def new_network(key):
        return QNetwork(obs_shape, num_actions, config.network, config.hidden, key,
                        config.width)

    def env_step(key, env_state, action):
        return jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(key, n_envs), env_state, action, env_params)

    def init(key, hp: DQNConfig = config):
        k_net, k_env, key = jax.random.split(key, 3)
        online = new_network(k_net)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_env, n_envs), env_params)
        example = Transition(obs[0], jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32),
                             obs[0], jnp.zeros((), jnp.float32))
        opt_state = adam.init(eqx.filter(online, eqx.is_inexact_array))
        target, demos = online, None
        if demonstrations is not None:
            key, k_demo, k_pre = jax.random.split(key, 3)
            demos = demonstrations(k_demo)
            demos = demos.replace(obs=demos.obs.astype(obs.dtype),
                                  next_obs=demos.next_obs.astype(obs.dtype),
                                  action=demos.action.astype(jnp.int32),
                                  reward=demos.reward.astype(jnp.float32),
                                  terminated=demos.terminated.astype(jnp.float32))
            online, target, opt_state = pretrain(online, opt_state, demos, hp, k_pre)
        return DQNState(
            online=online,
            target=target,
            opt_state=opt_state,
            buffer_state=buffer.init(example),
            env_state=env_state,
            obs=obs,
            key=key,
            env_steps=jnp.zeros((), jnp.int32),
            hp=hp,
            demos=demos,
        )

    def loss_fn(online, target, batch, demo_batch, hp):
        """TD loss on the replay batch and DQfD's TD + margin loss on the demonstrations."""
        total = jnp.zeros((), jnp.float32)
        if batch is not None:
            total += td_loss(online, target, batch, hp, config.double_dqn, config.loss)
        if demo_batch is not None:
            total += td_loss(online, target, demo_batch, hp, config.double_dqn, config.loss)
            total += hp.demo_weight * margin_loss(online, demo_batch, hp.demo_margin)
        return total

    loss_and_grad = eqx.filter_value_and_grad(loss_fn)

    def gradient_step(carry, key, replay: bool = True):
        online, opt_state, target, buffer_state, demos, hp = carry
        k_replay, demo_batch = key, None
        if demos is not None:  # without demonstrations the key is the replay's, as it was
            k_replay, k_demo = jax.random.split(key)
            idx = jax.random.randint(k_demo, (config.batch_size,), 0, demos.action.shape[0])
            demo_batch = jax.tree.map(lambda x: x[idx], demos)
        batch = buffer.sample(buffer_state, k_replay).experience if replay else None
        loss, grads = loss_and_grad(online, target, batch, demo_batch, hp)
        grads = clip_by_global_norm(grads, hp.max_grad_norm)
        updates, opt_state = adam.update(grads, opt_state)
        online = eqx.apply_updates(online, jax.tree.map(lambda u: -hp.lr * u, updates))
        return (online, opt_state, target, buffer_state, demos, hp), loss

    def learn(online, opt_state, target, buffer_state, demos, hp, key):
        (online, opt_state, *_), losses = jax.lax.scan(
            gradient_step, (online, opt_state, target, buffer_state, demos, hp),
            jax.random.split(key, grads_per_update))
        return online, opt_state, losses.mean()

    def pretrain(online, opt_state, demos: Transition, hp, key):
        """``pretrain_updates`` gradient steps on the demonstrations alone; the target network
        is copied every ``period`` steps (as often as during training) and at the end."""
        period = max(1, config.target_update_interval * grads_per_update // grad_period)
        rounds, rest = divmod(config.pretrain_updates, period)

        def steps(online, opt_state, target, key, count):
            (online, opt_state, *_), _ = jax.lax.scan(
                lambda c, k: gradient_step(c, k, replay=False),
                (online, opt_state, target, None, demos, hp), jax.random.split(key, count))
            return online, opt_state

        def round_(carry, key):
            online, opt_state = steps(*carry, key, period)
            return (online, opt_state, online), None

        k_rounds, k_rest = jax.random.split(key)
        carry = (online, opt_state, online)
        if rounds:
            carry, _ = jax.lax.scan(round_, carry, jax.random.split(k_rounds, rounds))
        online, opt_state, target = carry
        if rest:
            online, opt_state = steps(online, opt_state, target, k_rest, rest)
        return online, online, opt_state

    def skip(online, opt_state, target, buffer_state, demos, hp, key):
        return online, opt_state, jnp.zeros((), jnp.float32)

    def update(state: DQNState):
        hp = state.hp
        key, k_act, k_env, k_learn = jax.random.split(state.key, 4)
        epsilon = linear_epsilon(hp, state.env_steps)
        action = epsilon_greedy(k_act, jax.vmap(state.online)(state.obs), epsilon)
        obs, env_state, reward, terminated, _, info = env_step(k_env, state.env_state, action)
        dtype = state.obs.dtype
        taken = info.get("applied_action", action).astype(jnp.int32)
        items = Transition(state.obs, taken, reward.astype(jnp.float32),
                           info["final_observation"].astype(dtype),
                           terminated.astype(jnp.float32))
        buffer_state = buffer.add(state.buffer_state, items)
        env_steps = state.env_steps + n_envs

        due = ((env_steps > config.learning_starts) & buffer.can_sample(buffer_state)
               & (env_steps % grad_period == 0))
        online, opt_state, loss = jax.lax.cond(
            due, learn, skip, state.online, state.opt_state, state.target, buffer_state,
            state.demos, hp, k_learn)
        sync = env_steps % config.target_update_interval == 0
        target = polyak_update(online, state.target, hp.tau, sync)
        new_state = DQNState(online, target, opt_state, buffer_state, env_state,
                             obs.astype(dtype), key, env_steps, hp, state.demos)
        metrics = {
            "env_steps": env_steps.astype(jnp.float32),
            "episode_return": finished_episode_mean(info),
            "loss": loss,
            "epsilon": jnp.asarray(epsilon, jnp.float32),
        }
        return new_state, metrics

    return TrainProgram(init=init, update=update, num_updates=num_updates,
                        steps_per_update=n_envs)
