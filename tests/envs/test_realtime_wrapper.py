"""The realtime wrapper on a probe whose observation is the frame counter (Riemer et al., 2025)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment
from envs.realtime import Realtime, Scheduler

NOOP = 99


@struct.dataclass
class CounterState:
    time: jax.Array


class FrameCounter(Environment):
    """Observation = frames since reset; reward = the action; never ends."""

    @property
    def default_params(self):
        return None

    def action_space(self, params=None):
        return spaces.Discrete(100)

    def observation_space(self, params):
        return spaces.Box(0, 1 << 30, (), jnp.int32)

    def reset_env(self, key, params):
        return jnp.int32(0), CounterState(jnp.int32(0))

    def step_env(self, key, state, action, params):
        t = state.time + 1
        return t, CounterState(t), jnp.asarray(action, jnp.float32), jnp.bool_(False), {}

    def is_truncated(self, state, params):
        return jnp.bool_(False)


def trajectory(env, frames, seed):
    """The policy "act = the observation": the applied action names the frame it was read at."""

    def body(carry, key):
        obs, state = carry
        obs, state, reward, _, _, info = env.step(key, state, obs, None)
        return (obs, state), (reward, info)

    key = jax.random.key(seed)
    init = env.reset(key, None)
    return jax.lax.scan(body, init, jax.random.split(key, frames))[1]


def rollout(env, frames, seeds=None):
    """``(rewards, info)`` as numpy; vmapped over ``seeds`` when given."""
    if seeds is None:
        run = jax.jit(lambda: trajectory(env, frames, 0))
        return jax.tree.map(np.asarray, run())
    run = jax.jit(jax.vmap(lambda s: trajectory(env, frames, s)))
    return jax.tree.map(np.asarray, run(jnp.asarray(seeds)))


def test_staggered_actions_are_exactly_d_frames_stale():
    env = Realtime(FrameCounter(), Scheduler("staggered_max", 4, 4, 4.0), noop_action=NOOP)
    reward, info = rollout(env, 20)
    t = np.arange(20)
    # From frame 4 on, frame t applies the action chosen on observation t - 4.
    np.testing.assert_array_equal(reward, np.where(t >= 4, t - 4, NOOP))
    np.testing.assert_array_equal(info["inaction"], (t < 4).astype(np.float32))
    np.testing.assert_array_equal(info["delay"], np.where(t >= 4, 4.0, 0.0))
    np.testing.assert_array_equal(info["reads_observation"], np.ones(20, bool))


def test_sequential_acts_once_per_d_plus_one_frames_on_stale_observations():
    env = Realtime(FrameCounter(), Scheduler("sequential", 1, 1, 3.0), noop_action=NOOP)
    reward, info = rollout(env, 16)
    # Calls read o_0, o_4, o_8, o_12 and act 3 frames later.
    expected = np.full(16, NOOP)
    expected[[3, 7, 11, 15]] = [0, 4, 8, 12]
    np.testing.assert_array_equal(reward, expected)
    np.testing.assert_array_equal(np.flatnonzero(info["reads_observation"]), [0, 4, 8, 12])
    assert info["inaction"].mean() == pytest.approx(12 / 16)


def test_random_default_fills_idle_frames_and_vmaps():
    env = Realtime(FrameCounter(), Scheduler("async", 2, 2, 5.0), default="random",
                   noop_action=NOOP)
    reward, info = rollout(env, 30, seeds=[0, 1, 2])
    idle = info["inaction"] == 1.0
    assert idle.sum(axis=1).tolist() == [25] * 3  # fresh only at frames 5, 10, …, 25
    assert (reward[idle] != NOOP).mean() > 0.9 and len(np.unique(reward[idle])) > 10
    np.testing.assert_array_equal(reward[:, 5::5], np.tile([0, 5, 10, 15, 20], (3, 1)))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="default"):
        Realtime(FrameCounter(), Scheduler(), default="repeat")
    with pytest.raises(TypeError, match="scheduler"):
        Realtime(FrameCounter(), "staggered_max")
