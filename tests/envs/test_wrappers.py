"""Wrappers: hand-checked cases across episode boundaries (inside and outside AutoReset),
identities against the unwrapped environment, and jit/vmap over every wrapper."""

import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from gymnax.environments import spaces

import envs
from envs import AutoReset, EpisodeStats, FlattenObservation, FrameStack, LastAction
from envs.core import Environment


@struct.dataclass
class CountState:
    time: jax.Array


@struct.dataclass
class CountParams:
    max_steps_in_episode: int = 100


class Counter(Environment):
    """obs = [steps since reset]; terminates when it reaches 3; reward = the action (0 or 1)."""

    @property
    def default_params(self):
        return CountParams()

    def reset_env(self, key, params):
        return jnp.zeros((1,), jnp.float32), CountState(jnp.zeros((), jnp.int32))

    def step_env(self, key, state, action, params):
        time = state.time + 1
        obs = time.astype(jnp.float32).reshape(1)
        return obs, CountState(time), action.astype(jnp.float32), time >= 3, {}

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def observation_space(self, params):
        return spaces.Box(0.0, 100.0, (1,), jnp.float32)


@partial(jax.jit, static_argnums=(0,))
def rollout(env, params, key, actions):
    """Reset, then one step per action (keys split from ``key``), as one scan."""
    key_reset, key_steps = jax.random.split(key)
    obs0, state = env.reset(key_reset, params)

    def body(state, x):
        k, a = x
        obs, state, reward, terminated, truncated, info = env.step(k, state, a, params)
        return state, (obs, reward, terminated, truncated, info)

    keys = jax.random.split(key_steps, len(actions))
    return obs0, jax.lax.scan(body, state, (keys, actions))[1]


@functools.cache
def reference(name, num_steps, **overrides):
    """``AutoReset(envs.make(name))`` rolled out with random actions, computed once per module."""
    env, params = envs.make(name, **overrides)
    actions = random_actions(env, params, num_steps)
    return env, params, actions, rollout(AutoReset(env), params, KEY, actions)


def random_actions(env, params, n, seed=0):
    space = env.action_space(params)
    return jax.vmap(space.sample)(jax.random.split(jax.random.PRNGKey(seed), n))


KEY = jax.random.PRNGKey(7)


# --- FrameStack ------------------------------------------------------------------------------

@pytest.mark.parametrize("outside", [False, True], ids=["inside-autoreset", "outside-autoreset"])
def test_frame_stack_across_episode_boundary(outside):
    counter = Counter()
    env = FrameStack(AutoReset(counter), 3) if outside else AutoReset(FrameStack(counter, 3))
    obs0, (obs, _, terminated, truncated, info) = rollout(
        env, counter.default_params, KEY, jnp.zeros(5, jnp.int32)
    )
    frames = lambda *xs: np.array(xs, np.float32)[:, None]  # noqa: E731
    np.testing.assert_array_equal(obs0, frames(0, 0, 0))
    expected = [frames(0, 0, 1), frames(0, 1, 2), frames(0, 0, 0), frames(0, 0, 1), frames(0, 1, 2)]
    np.testing.assert_array_equal(obs, np.stack(expected))
    np.testing.assert_array_equal(terminated, [False, False, True, False, False])
    np.testing.assert_array_equal(info["final_observation"][2], frames(1, 2, 3))
    np.testing.assert_array_equal(info["final_observation"][3], frames(0, 0, 1))


@pytest.mark.parametrize("outside", [False, True], ids=["inside-autoreset", "outside-autoreset"])
def test_frame_stack_refills_on_truncation(outside):
    counter = Counter()
    env = FrameStack(AutoReset(counter), 3) if outside else AutoReset(FrameStack(counter, 3))
    params = CountParams(max_steps_in_episode=2)
    _, (obs, _, terminated, truncated, info) = rollout(env, params, KEY, jnp.zeros(3, jnp.int32))
    np.testing.assert_array_equal(truncated, [False, True, False])
    assert not np.asarray(terminated).any()
    np.testing.assert_array_equal(obs[:, :, 0], [[0, 0, 1], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(info["final_observation"][1, :, 0], [0, 1, 2])


def test_frame_stack_without_autoreset_keeps_the_final_frames():
    env = FrameStack(Counter(), 2)
    _, (obs, _, terminated, _, info) = rollout(env, CountParams(), KEY, jnp.zeros(3, jnp.int32))
    np.testing.assert_array_equal(obs[:, :, 0], [[0, 1], [1, 2], [2, 3]])
    assert "final_observation" not in info


@pytest.mark.parametrize("outside", [False, True], ids=["inside-autoreset", "outside-autoreset"])
def test_frame_stack_of_one_is_the_observation_with_a_new_axis(outside):
    env, params, actions, ref = reference("CartPole-v1", 60, max_steps_in_episode=15)
    r_obs0, (r_obs, r_reward, r_terminated, r_truncated, r_info) = ref
    wrapped = FrameStack(AutoReset(env), 1) if outside else AutoReset(FrameStack(env, 1))
    obs0, (obs, reward, terminated, truncated, info) = rollout(wrapped, params, KEY, actions)
    assert np.asarray(r_terminated | r_truncated).any()
    np.testing.assert_array_equal(obs0, r_obs0[None])
    np.testing.assert_array_equal(obs, r_obs[:, None])
    np.testing.assert_array_equal(info["final_observation"], r_info["final_observation"][:, None])
    np.testing.assert_array_equal(reward, r_reward)
    np.testing.assert_array_equal(terminated, r_terminated)


def test_frame_stack_observation_space_on_minatar():
    env, params = envs.make("Breakout-MinAtar")
    space = FrameStack(env, 4).observation_space(params)
    assert tuple(space.shape) == (4, 10, 10, 4)
    obs, _ = FrameStack(env, 4).reset(KEY, params)
    assert obs.shape == (4, 10, 10, 4) and obs.dtype == space.dtype
    np.testing.assert_array_equal(obs, jnp.repeat(env.reset(KEY, params)[0][None], 4, axis=0))


@pytest.mark.parametrize("bad", [0, -2, 2.0, True])
def test_frame_stack_rejects_bad_num_frames(bad):
    with pytest.raises(ValueError, match="num_frames"):
        FrameStack(Counter(), bad)


# --- LastAction ------------------------------------------------------------------------------

@pytest.mark.parametrize("outside", [False, True], ids=["inside-autoreset", "outside-autoreset"])
def test_last_action_across_episode_boundary(outside):
    counter = Counter()
    env = LastAction(AutoReset(counter)) if outside else AutoReset(LastAction(counter))
    actions = jnp.array([1, 0, 1, 1], jnp.int32)
    obs0, (obs, _, terminated, _, info) = rollout(env, counter.default_params, KEY, actions)
    np.testing.assert_array_equal(obs0, [0, 0, 0])
    # [count, one-hot(previous action)]; the reset after step 3 clears the action.
    np.testing.assert_array_equal(obs, [[1, 0, 1], [2, 1, 0], [0, 0, 0], [1, 0, 1]])
    np.testing.assert_array_equal(info["final_observation"][2], [3, 0, 1])
    np.testing.assert_array_equal(terminated, [False, False, True, False])


def test_last_action_one_hot_on_cartpole():
    env, params, actions, (_, (r_obs, _, _, _, r_info)) = reference(
        "CartPole-v1", 60, max_steps_in_episode=15
    )
    _, (obs, _, term, trunc, info) = rollout(LastAction(AutoReset(env)), params, KEY, actions)
    done = np.asarray(term | trunc)
    assert done.any()
    one_hot = np.eye(2, dtype=np.float32)[np.asarray(actions)]
    np.testing.assert_array_equal(obs[:, :4], r_obs)
    np.testing.assert_array_equal(obs[~done, 4:], one_hot[~done])
    np.testing.assert_array_equal(obs[done, 4:], np.zeros_like(one_hot[done]))
    np.testing.assert_array_equal(info["final_observation"][:, 4:], one_hot)
    np.testing.assert_array_equal(info["final_observation"][:, :4], r_info["final_observation"])


def test_last_action_continuous_appends_the_action_vector():
    env, params = envs.make("Pendulum-v1")
    wrapped = LastAction(env)
    actions = random_actions(env, params, 5)
    obs0, (obs, *_) = rollout(wrapped, params, KEY, actions)
    np.testing.assert_array_equal(obs0[3:], [0.0])
    np.testing.assert_array_equal(obs[:, 3:], actions)
    space = wrapped.observation_space(params)
    assert tuple(space.shape) == (4,)
    np.testing.assert_array_equal(space.low[3:], [-2.0])
    np.testing.assert_array_equal(space.high[3:], [2.0])


def test_last_action_needs_a_flat_observation():
    env, _ = envs.make("Breakout-MinAtar")
    with pytest.raises(ValueError, match="FlattenObservation"):
        LastAction(env)
    assert LastAction(FlattenObservation(env)).observation_space(None).shape == (403,)


# --- FlattenObservation ----------------------------------------------------------------------

@pytest.mark.parametrize("outside", [False, True], ids=["inside-autoreset", "outside-autoreset"])
def test_flatten_on_minatar_is_reshape(outside):
    env, params, actions, ref = reference("Breakout-MinAtar", 100)
    r_obs0, (r_obs, _, r_term, r_trunc, r_info) = ref
    wrapped = FlattenObservation(AutoReset(env)) if outside else AutoReset(FlattenObservation(env))
    obs0, (obs, _, term, trunc, info) = rollout(wrapped, params, KEY, actions)
    assert np.asarray(r_term | r_trunc).any()
    assert obs.dtype == jnp.float32 and obs.shape == (100, 400)
    np.testing.assert_array_equal(obs0, r_obs0.reshape(-1))
    np.testing.assert_array_equal(obs, r_obs.reshape(100, -1))
    r_final = r_info["final_observation"].reshape(100, -1)
    np.testing.assert_array_equal(info["final_observation"], r_final)
    space = wrapped.observation_space(params)
    assert tuple(space.shape) == (400,) and space.dtype == jnp.float32


# --- EpisodeStats ----------------------------------------------------------------------------

def test_episode_stats_returns_are_sums_of_rewards():
    env, params = envs.make("Pendulum-v1", max_steps_in_episode=13)
    actions = random_actions(env, params, 60)
    _, (_, reward, term, trunc, info) = rollout(EpisodeStats(AutoReset(env)), params, KEY, actions)
    reward, done = np.asarray(reward), np.asarray(term | trunc)
    assert done.sum() == 4  # 60 steps, episodes of 13
    total, length, last_return, last_length = np.float32(0), 0, np.float32(0), 0
    for t in range(len(reward)):
        total, length = total + reward[t], length + 1
        if done[t]:
            last_return, last_length, total, length = total, length, np.float32(0), 0
        assert info["returned_episode"][t] == done[t]
        np.testing.assert_allclose(info["returned_episode_return"][t], last_return, rtol=1e-5)
        assert info["returned_episode_length"][t] == last_length


# --- every wrapper under jit and vmap --------------------------------------------------------

WRAPPERS = {
    "EpisodeStats(AutoReset)": lambda e: EpisodeStats(AutoReset(e)),
    "FrameStack(AutoReset)": lambda e: FrameStack(AutoReset(e), 3),
    "AutoReset(FrameStack)": lambda e: AutoReset(FrameStack(e, 3)),
    "LastAction(AutoReset)": lambda e: LastAction(AutoReset(e)),
    "AutoReset(LastAction)": lambda e: AutoReset(LastAction(e)),
    "FlattenObservation(AutoReset)": lambda e: FlattenObservation(AutoReset(e)),
    "AutoReset(FlattenObservation)": lambda e: AutoReset(FlattenObservation(e)),
}


@pytest.mark.parametrize("wrap", WRAPPERS.values(), ids=WRAPPERS.keys())
def test_vmapped_step_equals_stepping_each_env(wrap):
    base, params = envs.make("CartPole-v1", max_steps_in_episode=1)
    env = wrap(base)
    n = 3
    keys = jax.random.split(KEY, n)
    actions = jnp.array([0, 1, 1], jnp.int32)

    def reset_and_step(key, action):  # one step, which crosses the time limit
        _, state = env.reset(key, params)
        obs, state, reward, term, trunc, info = env.step(key, state, action, params)
        return obs, reward, term, trunc, info

    got = jax.jit(jax.vmap(reset_and_step))(keys, actions)
    single = jax.jit(reset_and_step)
    assert np.asarray(got[3]).all()
    for i in range(n):
        want = single(keys[i], actions[i])
        jax.tree.map(lambda g, w: np.testing.assert_array_equal(g[i], w), got, want)
    space = env.observation_space(params)
    assert got[0].shape == (n, *space.shape) and got[0].dtype == space.dtype
    assert bool(jax.vmap(space.contains)(got[0]).all())
