"""History against a window of inner observations and actions kept by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.wrappers import AutoReset, History


def test_flat_history_matches_hand_kept_window():
    env, params = envs.make("CartPole-v1")
    k, m = 3, 2
    hist = History(env, num_obs=k, num_actions=m)
    step = jax.jit(hist.step)
    obs, state = hist.reset(jax.random.key(0), params)
    inner_obs, inner_state = env.reset(jax.random.key(0), params)
    frames = [np.asarray(inner_obs)] * k
    actions = [np.zeros(2)] * m
    assert obs.shape == hist.observation_space(params).shape == (4 * k + 2 * m,)
    np.testing.assert_allclose(obs, np.concatenate(frames + actions))
    for t, a in enumerate([0, 1, 1, 0, 1]):
        key = jax.random.key(t)
        obs, state, *_ = step(key, state, a, params)
        inner_obs, inner_state, *_ = env.step(key, inner_state, a, params)
        frames = frames[1:] + [np.asarray(inner_obs)]
        actions = actions[1:] + [np.eye(2)[a]]
        np.testing.assert_allclose(obs, np.concatenate(frames + actions), rtol=1e-6)


def test_image_history_stacks_channels_and_action_planes():
    env, params = envs.make("Breakout-MinAtar")
    hist = History(env, num_obs=2, num_actions=1)
    obs0, state = hist.reset(jax.random.key(0), params)
    obs1, *_ = hist.step(jax.random.key(1), state, 2, params)
    c, n = env.observation_space(params).shape[-1], env.action_space(params).n
    assert obs1.shape == (10, 10, 2 * c + n) == hist.observation_space(params).shape
    np.testing.assert_array_equal(obs1[..., :c], obs0[..., c:2 * c])  # previous frame
    np.testing.assert_array_equal(obs1[..., 2 * c:], jnp.broadcast_to(jnp.eye(n)[2], (10, 10, n)))
    assert not obs0[..., 2 * c:].any()  # no action before the first step


def test_outside_autoreset_refills_window_and_keeps_final_observation():
    env, params = envs.make("CartPole-v1")
    hist = History(AutoReset(env), num_obs=2, num_actions=1)
    step = jax.jit(hist.step)
    obs, state = hist.reset(jax.random.key(0), params)
    for t in range(200):  # push right until the pole falls
        prev = obs
        obs, state, _, term, trunc, info = step(jax.random.key(t), state, 1, params)
        if term or trunc:
            break
    assert term
    final = info["final_observation"]
    np.testing.assert_allclose(final[:4], prev[4:8])  # window slid over the true final obs
    np.testing.assert_allclose(final[8:], [0.0, 1.0])
    np.testing.assert_allclose(obs[:4], obs[4:8])  # refilled from the reset observation
    np.testing.assert_allclose(obs[8:], 0.0)


def test_identity_and_bad_arguments():
    env, params = envs.make("CartPole-v1")
    obs, _ = History(env).reset(jax.random.key(0), params)
    np.testing.assert_array_equal(obs, env.reset(jax.random.key(0), params)[0])
    with pytest.raises(ValueError, match="num_obs"):
        History(env, num_obs=0)
    with pytest.raises(ValueError, match="num_actions"):
        History(env, num_actions=-1)
