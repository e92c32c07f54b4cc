"""ActionHold against the inner environment stepped by hand, frame by frame."""

import jax
import numpy as np
import pytest

import envs
from envs.wrappers import ActionHold, AutoReset


def _manual(env, params, key, state, action, tau):
    """Reference: up to ``tau`` inner frames with the same keys, stopping at episode end."""
    total = 0.0
    for k in jax.random.split(key, tau):
        obs, state, reward, term, trunc, _ = env.step(k, state, action, params)
        total += float(reward)
        if bool(term) or bool(trunc):
            break
    return obs, state, total, bool(term), bool(trunc)


def _episode(env, params, tau):
    """Tick through one CartPole episode pushing right; compare each tick with the reference."""
    held = ActionHold(env, tau)
    step = jax.jit(held.step)
    _, state = held.reset(jax.random.key(0), params)
    ref_state, rewards, done, tick = state, [], False, 0
    while not done:
        key = jax.random.fold_in(jax.random.key(1), tick)
        ref_obs, ref_state, ref_reward, ref_term, ref_trunc = _manual(
            env, params, key, ref_state, 1, tau)
        obs, state, reward, term, trunc, _ = step(key, state, 1, params)
        np.testing.assert_allclose(obs, ref_obs, rtol=1e-6)
        assert (float(reward), bool(term), bool(trunc)) == (ref_reward, ref_term, ref_trunc)
        rewards.append(float(reward))
        done, tick = ref_term or ref_trunc, tick + 1
        assert tick < 200
    return rewards


def test_held_action_matches_manual_frames_and_stops_at_termination():
    env, params = envs.make("CartPole-v1")
    frames = _episode(env, params, 1)
    held = _episode(env, params, 3)
    # CartPole's dynamics ignore the key and pay 1 per frame: the held ticks cover exactly the
    # frames of the frame-by-frame episode, the last tick cut short at termination
    assert sum(held) == sum(frames) == len(frames)
    assert len(held) == -(-len(frames) // 3)
    assert held[:-1] == [3.0] * (len(held) - 1)


def test_rewards_sum_over_frames_and_tau_one_is_the_inner_env():
    env, params = envs.make("CartPole-v1")
    key = jax.random.key(3)
    _, state = env.reset(key, params)
    out = ActionHold(env, 4).step(key, state, 0, params)
    assert float(out[2]) == 4.0  # four frames of reward 1 from a fresh (upright) episode
    one = ActionHold(env, 1).step(key, state, 0, params)
    ref = env.step(key, state, 0, params)
    for a, b in zip(jax.tree.leaves(one[:5]), jax.tree.leaves(ref[:5])):
        np.testing.assert_array_equal(a, b)


def test_bad_tau_and_wrong_order_fail():
    env, params = envs.make("CartPole-v1")
    with pytest.raises(ValueError, match="tau"):
        ActionHold(env, 0)
    wrong = ActionHold(AutoReset(env), 2)
    _, state = wrong.reset(jax.random.key(0), params)
    with pytest.raises(ValueError, match="inside AutoReset"):
        wrong.step(jax.random.key(0), state, 0, params)
