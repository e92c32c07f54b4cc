"""DQN against closed-form values: the TD loss on a hand-computed batch, Q on the probe
environments, Q of a time-limited MDP (which must bootstrap through truncation), and CartPole
(slow)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from jaxrl.agents.dqn import DQNConfig, linear_epsilon, make_train, td_loss
from jaxrl.config import ConfigError
from jaxrl.replay import Transition

OBS = {v: jnp.array([[v]], jnp.float32) for v in (-1.0, 0.0, 1.0)}


STEPS = 16_000  # probe runs: 4 envs × 4000 updates


def probe_config(env, **kw):
    # ε stays high: Q-learning is off-policy and the probes need both actions in the data.
    base = dict(env=env, num_envs=4, total_timesteps=STEPS, buffer_size=1000, batch_size=32,
                learning_starts=200, train_frequency=4, target_update_interval=100,
                hidden=(32,), lr=2e-3, gamma=0.5, epsilon_end=0.5, exploration_fraction=0.1)
    return DQNConfig(**{**base, **kw})


def train(config, key=0, **env_kw):
    return jax.jit(make_train(config, **env_kw))(jax.random.key(key))


def q_values(final, obs_value):
    return np.asarray(final.online(OBS[obs_value][0]))


# --- the loss on a hand-computed batch -------------------------------------------------------

Q_ONLINE = jnp.array([[1.0, 2.0], [3.0, 0.5]])  # rows: obs 0 and obs 1
Q_TARGET = jnp.array([[0.0, 0.0], [1.0, 4.0]])


@pytest.mark.parametrize(
    "double, loss, expected",
    [
        # y = r + γ (1 - terminated) v', γ = 0.5; transitions (s=0, a=1, r=1, s'=1) and
        # (s=1, a=0, r=0, s'=1, terminated).
        # plain: v' = max Q_target(1) = 4 → y = (3, 0); errors (2 - 3, 3 - 0) = (-1, 3).
        (False, "mse", (1.0 + 9.0) / 2),
        # double: a' = argmax Q_online(1) = 0, v' = Q_target(1, 0) = 1 → y = (1.5, 0).
        (True, "mse", (0.25 + 9.0) / 2),
        # huber(δ=1): 0.5 e² for |e| ≤ 1, |e| − 0.5 beyond.
        (False, "huber", (0.5 + 2.5) / 2),
    ],
)
def test_td_loss_by_hand(double, loss, expected):
    online = lambda o: Q_ONLINE[o[0]]
    target = lambda o: Q_TARGET[o[0]]
    batch = Transition(obs=jnp.array([[0], [1]]), action=jnp.array([1, 0]),
                       reward=jnp.array([1.0, 0.0]), next_obs=jnp.array([[1], [1]]),
                       terminated=jnp.array([0.0, 1.0]))
    hp = DQNConfig(gamma=0.5)
    np.testing.assert_allclose(td_loss(online, target, batch, hp, double, loss), expected)


def test_epsilon_schedule():
    hp = DQNConfig(total_timesteps=1000, epsilon_start=1.0, epsilon_end=0.1,
                   exploration_fraction=0.5)
    got = [float(linear_epsilon(hp, t)) for t in (0, 250, 500, 900)]
    np.testing.assert_allclose(got, [1.0, 0.55, 0.1, 0.1], rtol=1e-6)


# --- probe environments ----------------------------------------------------------------------


def adam_count(final):
    return int(final.opt_state.count)  # gradient steps taken


def test_probe_one_step():
    # train_frequency 8 with 4 envs: one gradient step every other update, at env steps
    # 208, 216, ..., 16 000 (the first multiple of 8 past learning_starts = 200).
    final, metrics = train(probe_config("Probe-OneStep", train_frequency=8))
    np.testing.assert_allclose(q_values(final, 0.0), [1.0, 1.0], atol=0.1)
    assert adam_count(final) == (STEPS - 208) // 8 + 1
    assert np.all(metrics["loss"][0::2] == 0.0)  # env steps 4, 12, 20, ...: no gradient step
    assert np.all(metrics["loss"][51::2] > 0.0)  # env steps 208, 216, ...: one each


def test_probe_two_step_discounts():
    """Q(obs 0) = γ, Q(obs 1) = 1, with the options together: Double DQN targets, Huber loss,
    soft target updates every step. (The plain target is checked by the truncation test.)"""
    config = probe_config("Probe-TwoStep", gamma=0.5, double_dqn=True, loss="huber",
                          tau=0.05, target_update_interval=4)
    final, _ = train(config)
    np.testing.assert_allclose(q_values(final, 0.0), [0.5, 0.5], atol=0.1)
    np.testing.assert_allclose(q_values(final, 1.0), [1.0, 1.0], atol=0.1)


def test_probe_action_reward():
    # train_frequency 2 with 4 envs: two gradient steps per update from env step 204 on.
    final, _ = train(probe_config("Probe-ActionReward", train_frequency=2))
    np.testing.assert_allclose(q_values(final, 0.0), [0.0, 1.0], atol=0.1)
    assert adam_count(final) == 2 * ((STEPS - 204) // 4 + 1)


def test_probe_obs_reward():
    final, _ = train(probe_config("Probe-ObsReward"))
    np.testing.assert_allclose(q_values(final, 1.0), [1.0, 1.0], atol=0.1)
    np.testing.assert_allclose(q_values(final, -1.0), [-1.0, -1.0], atol=0.1)


def test_probe_obs_action_reward_seeds_and_sweeps_by_vmap():
    """One vmap over (key, config) rows, each of which must solve the probe (greedy action and
    Q values); the same key and lr give identical runs, another key or lr a different one."""
    config = probe_config("Probe-ObsActionReward")
    program = make_train(config)
    k0, k1 = jax.random.split(jax.random.key(3))
    keys = jnp.stack([k0, k1, k0, k0])
    configs = jax.vmap(lambda lr: config.replace(lr=lr))(jnp.array([2e-3, 2e-3, 2e-3, 4e-3]))
    final, metrics = jax.jit(jax.vmap(program))(keys, configs)

    for i in range(4):
        net = jax.tree.map(lambda x: x[i], final.online)
        q_pos, q_neg = np.asarray(net(OBS[1.0][0])), np.asarray(net(OBS[-1.0][0]))
        assert np.argmax(q_pos) == 1 and np.argmax(q_neg) == 0
        np.testing.assert_allclose(q_pos, [0.0, 1.0], atol=0.1)
        np.testing.assert_allclose(q_neg, [1.0, 0.0], atol=0.1)

    assert set(metrics) >= {"env_steps", "episode_return", "loss", "epsilon"}
    np.testing.assert_array_equal(metrics["env_steps"][0], 4.0 * np.arange(1, STEPS // 4 + 1))
    assert np.all(np.isfinite(metrics["loss"]))
    assert metrics["loss"][0, 49] == 0.0 and metrics["loss"][0, 50] > 0  # learning starts
    w = np.asarray(final.online.head.layers[0].weight)
    np.testing.assert_array_equal(w[0], w[2])
    np.testing.assert_array_equal(metrics["loss"][0], metrics["loss"][2])
    assert not np.array_equal(w[0], w[1])  # another seed
    assert not np.allclose(w[0], w[3])  # same seed, another step size


# --- truncation ------------------------------------------------------------------------------


def test_truncation_bootstraps():
    final, metrics = train(probe_config("Probe-Truncation", gamma=0.5),
                           env_params=envs.make("Probe-Truncation", max_steps_in_episode=2)[1])
    # Bootstrapping through the time limit: Q = r / (1 - γ) = 2. Treating truncation as the
    # end of the episode would give 1 / (1 - γ/2) = 4/3.
    np.testing.assert_allclose(q_values(final, 0.0), [2.0, 2.0], atol=0.1)
    np.testing.assert_allclose(np.nanmean(metrics["episode_return"]), 2.0)  # 2 steps × 1


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"lr": -1e-3}, "lr"),
        ({"num_envs": 0}, "num_envs"),
        ({"batch_size": 20_000}, "batch_size"),
        ({"env": "NoSuchEnv-v0"}, "env"),
        ({"network": "transformer"}, "network"),
        ({"loss": "l1"}, "loss"),
        ({"gamma": 1.5}, "gamma"),
        ({"tau": 0.0}, "tau"),
        ({"epsilon_end": -0.1}, "epsilon_end"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"learning_starts": -1}, "learning_starts"),
        ({"hidden": (64, 0)}, "hidden"),
        ({"train_frequency": 3}, "train_frequency"),
        ({"target_update_interval": 505}, "target_update_interval"),
        ({"total_timesteps": 1005}, "total_timesteps"),
        ({"buffer_size": 5}, "buffer_size"),
    ],
)
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=rf"DQNConfig\.{field}="):
        DQNConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"network": "minatar_cnn"}, "network"),  # CartPole's observation is a vector
        ({"env": "Probe-ActionReward-Continuous"}, "env"),  # continuous actions
    ],
)
def test_make_train_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=rf"DQNConfig\.{field}="):
        make_train(DQNConfig(**kwargs))


# --- CartPole --------------------------------------------------------------------------------


@pytest.mark.slow
def test_cartpole_default_config_learns():
    """The CleanRL/purejaxrl defaults (500 000 steps) solve CartPole-v1 from a fixed seed."""
    program = make_train(DQNConfig())
    _, metrics = jax.jit(program)(jax.random.key(0))
    returns = np.asarray(metrics["episode_return"])
    last = returns[-program.num_updates // 10:]  # the last 50 000 steps
    assert np.nanmean(last) >= 150, np.nanmean(last)


# --- the action the environment applied ----------------------------------------------------


def test_stores_the_action_the_realtime_wrapper_applied():
    """Under the realtime wrapper with inference slower than the one-step episodes, the default
    (noop = 0) acts every frame: the replay buffer must hold action 0 only, while the agent's own
    ε = 1 actions are uniform (half of them 1)."""
    from envs.realtime import Realtime, Scheduler

    base, params = envs.make("Probe-ActionReward")
    sched = Scheduler(kind="sequential", max_processes=1, num_processes=1, inference_frames=2.0)
    config = probe_config("Probe-ActionReward", total_timesteps=400, learning_starts=400,
                          epsilon_end=1.0)
    final, metrics = train(config, env=Realtime(base, sched), env_params=params)
    stored = np.asarray(final.buffer_state.experience.action)[: 400 // 4]
    assert stored.size > 0 and (stored == 0).all(), np.unique(stored)
    assert np.nanmean(np.asarray(metrics["episode_return"])) == 0.0


def test_impala_network_q_values():
    """The IMPALA torso: one Q-value per action, channels scaled by ``width``."""
    import equinox as eqx

    from jaxrl.agents.dqn import QNetwork

    def build(width):
        return QNetwork((4, 4, 1), 3, "impala_cnn", (8,), jax.random.key(0), width=width)

    narrow, wide = eqx.filter_eval_shape(build, 1), eqx.filter_eval_shape(build, 2)
    assert build(1)(jnp.ones((4, 4, 1), jnp.bool_)).shape == (3,)
    assert wide.torso.stages[0].conv.out_channels == 2 * narrow.torso.stages[0].conv.out_channels
    with pytest.raises(ConfigError, match=r"DQNConfig\.width="):
        DQNConfig(network="impala_cnn", width=0)
