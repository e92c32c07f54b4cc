"""DQN with demonstrations (DQfD's margin loss, the realtime-RL paper's pretraining): the loss on
a hand-computed batch, pretraining that must make the greedy policy the demonstrator's even where
rewards cannot tell the actions apart, and bad demonstrations rejected before any work."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from jaxrl.agents.dqn import DQNConfig, make_train, margin_loss
from jaxrl.config import ConfigError
from jaxrl.demonstrations import collect
from jaxrl.replay import Transition


class Table:
    """A Q "network" reading its values from a table row chosen by the observation."""

    def __init__(self, table):
        self.table = jnp.asarray(table)

    def __call__(self, obs):
        return self.table[obs.astype(jnp.int32)]


def test_margin_loss_by_hand():
    q = Table([[1.0, 2.0, 0.5], [0.0, 3.0, 1.0]])
    batch = Transition(obs=jnp.array([0, 0, 1]), action=jnp.array([0, 1, 1]),
                       reward=jnp.zeros(3), next_obs=jnp.zeros(3), terminated=jnp.zeros(3))
    # obs 0, a_E 0: max(1 + 0, 2 + 0.8, 0.5 + 0.8) − 1 = 1.8
    # obs 0, a_E 1: max(1.8, 2, 1.3) − 2 = 0
    # obs 1, a_E 1: max(0.8, 3, 1.8) − 3 = 0
    np.testing.assert_allclose(margin_loss(q, batch, 0.8), 1.8 / 3, rtol=1e-6)
    np.testing.assert_allclose(margin_loss(q, batch, 0.0), (1.0 + 0 + 0) / 3, rtol=1e-6)


def config(**kw):
    base = dict(env="Probe-ActionReward", num_envs=4, total_timesteps=400, buffer_size=400,
                batch_size=32, learning_starts=400, train_frequency=4,
                target_update_interval=100, hidden=(32,), lr=2e-3, gamma=0.5,
                pretrain_updates=1000)
    return DQNConfig(**{**base, **kw})


def demos_of(action: int, env="Probe-ActionReward", num_steps=64):
    base, params = envs.make(env)
    return functools.partial(collect, base, params, lambda key, state: jnp.int32(action),
                             num_envs=4, num_steps=num_steps)


OBS = jnp.zeros((1,), jnp.float32)


@pytest.mark.parametrize("action", [0, 1])
def test_pretraining_imitates_the_demonstrator(action):
    """Probe-ActionReward pays 1 for action 1. Demonstrations of one action alone never show
    the other, so TD cannot rank it; the margin must put it at least 0.8 below the demonstrated
    one, whose value TD sets to its reward (one-step episodes)."""
    state = jax.jit(make_train(config(), demonstrations=demos_of(action)).init)(
        jax.random.key(0))
    q = np.asarray(state.online(OBS))
    assert np.argmax(q) == action
    np.testing.assert_allclose(q[action], float(action), atol=0.1)
    assert q[1 - action] <= q[action] - 0.75, q
    # pretraining only: 1000 Adam steps, no environment data, target copied at the end.
    assert int(state.opt_state.count) == 1000
    assert int(state.buffer_state.current_index) == 0 and not bool(state.buffer_state.is_full)
    np.testing.assert_array_equal(state.target.head.layers[0].weight,
                                  state.online.head.layers[0].weight)
    np.testing.assert_array_equal(state.demos.action, np.full(4 * 64, action))


def test_demonstrations_stay_in_every_gradient_step():
    """After pretraining on action 0, online training with ε = 1 sees both actions: TD on the
    replay batch lifts Q(·, 1) towards 1 while the demonstrations' margin holds it below Q(·, 0),
    so with the margin weight at 0 the greedy action becomes 1 and with it at 10 it stays 0."""
    run = {}
    for weight in (0.0, 10.0):
        c = config(total_timesteps=4000, learning_starts=100, epsilon_end=1.0,
                   demo_weight=weight)
        final, _ = jax.jit(make_train(c, demonstrations=demos_of(0)))(jax.random.key(1))
        run[weight] = np.asarray(final.online(OBS))
    assert np.argmax(run[0.0]) == 1, run[0.0]
    np.testing.assert_allclose(run[0.0], [0.0, 1.0], atol=0.15)
    assert np.argmax(run[10.0]) == 0, run[10.0]


def test_collect_records_transitions_in_time_major_order():
    base, params = envs.make("Probe-TwoStep")
    items = jax.jit(demos_of(1, "Probe-TwoStep", num_steps=6))(jax.random.key(0))
    assert items.obs.shape == (24, 1) and items.action.shape == (24,)
    obs, next_obs = np.asarray(items.obs)[:, 0], np.asarray(items.next_obs)[:, 0]
    # Two-step episodes: obs 0 → 1 (reward 0) → end (reward 1), then again from 0.
    np.testing.assert_array_equal(obs.reshape(6, 4), np.tile([[0.0], [1.0]], (3, 4)))
    np.testing.assert_array_equal(next_obs, np.ones(24))  # 1 after 0; the final obs after 1
    np.testing.assert_array_equal(np.asarray(items.reward), obs)
    np.testing.assert_array_equal(np.asarray(items.terminated), obs)
    with pytest.raises(ValueError, match="num_steps=0"):
        collect(base, params, lambda k, s: 0, jax.random.key(0), num_envs=4, num_steps=0)


def test_bad_demonstrations_are_rejected_before_any_work():
    with pytest.raises(ConfigError, match=r"DQNConfig\.pretrain_updates="):
        make_train(config())
    with pytest.raises(ConfigError, match=r"DQNConfig\.demo_margin="):
        DQNConfig(demo_margin=-1.0)
    with pytest.raises(ValueError, match=r"demonstrations\(key\)\.obs has shape \(256, 2\)"):
        wrong = lambda key: jax.tree.map(  # noqa: E731
            lambda x: jnp.concatenate([x, x], -1) if x.ndim == 2 else x, demos_of(1)(key))
        make_train(config(), demonstrations=wrong)
    with pytest.raises(ValueError, match="at least batch_size=32"):
        make_train(config(), demonstrations=demos_of(1, num_steps=4))
    with pytest.raises(TypeError, match="Transition"):
        make_train(config(), demonstrations=lambda key: jnp.zeros((64, 1)))
