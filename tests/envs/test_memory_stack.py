"""Stack algebra of Adaptive Stacking against list-based references of the reference code."""

from collections import deque

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.memory import AdaptiveStack, frame_stack, initial_stack, is_cue, pop_push


def list_pop_push(frames, i, obs):
    frames = list(frames)
    frames.pop(i)
    frames.append(obs)
    return frames


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_pop_push_every_index(k):
    rng = np.random.default_rng(k)
    frames = rng.normal(size=(k, 3)).astype(np.float32)
    obs = rng.normal(size=3).astype(np.float32)
    for i in range(k):
        want = np.stack(list_pop_push(frames, i, obs))
        np.testing.assert_array_equal(pop_push(jnp.asarray(frames), i, jnp.asarray(obs)), want)


def test_initial_stack_is_zeros_then_first_observation():
    obs = jnp.array([0.0, 1.0, 0.0, 0.0])
    stack = initial_stack(obs, 3)
    np.testing.assert_array_equal(stack, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]])
    np.testing.assert_array_equal(initial_stack(obs, 1), obs[None])


def rollout(env, params, actions, key):
    obs, state = env.reset(key, params)
    out = [np.asarray(obs)]
    for t, a in enumerate(actions):
        obs, state, *_ = env.step(jax.random.fold_in(key, t), state, a, params)
        out.append(np.asarray(obs))
    return out


@pytest.mark.parametrize("k", [1, 3])
def test_adaptive_stack_matches_list_reference_and_frame_stack_is_pop_zero(k):
    base, params = envs.make("TMaze", length=6, active=True)
    rng = np.random.default_rng(k)
    env_actions = rng.integers(0, 4, size=12)
    memory_actions = rng.integers(0, k, size=12)
    key = jax.random.key(3)
    raw = rollout(base, params, env_actions, key)

    adaptive = AdaptiveStack(base, k, "flat")
    got = rollout(adaptive, params, env_actions + 4 * memory_actions, key)
    want = [np.zeros_like(raw[0])] * (k - 1) + [raw[0]]
    for t in range(12):
        np.testing.assert_array_equal(got[t], np.stack(want))
        want = list_pop_push(want, int(memory_actions[t]), raw[t + 1])

    window = deque([np.zeros_like(raw[0])] * k, maxlen=k)  # the reference code's FrameStack
    window.append(raw[0])
    sliding = rollout(frame_stack(base, k), params, env_actions, key)
    pop_zero = rollout(adaptive, params, env_actions, key)  # flat action a < 4: memory action 0
    for t in range(13):
        np.testing.assert_array_equal(sliding[t], np.stack(window))
        np.testing.assert_array_equal(pop_zero[t], sliding[t])
        if t < 12:
            window.append(raw[t + 1])


def test_multi_head_encoding_equals_flat():
    base, params = envs.make("TMaze", length=5, active=True)
    flat, multi = AdaptiveStack(base, 3, "flat"), AdaptiveStack(base, 3, "multi")
    key = jax.random.key(0)
    pairs = [(3, 2), (1, 0), (1, 1), (0, 2)]
    a = rollout(flat, params, [e + 4 * m for e, m in pairs], key)
    b = rollout(multi, params, [jnp.array([e, m]) for e, m in pairs], key)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert flat.action_space(params).n == 12


def memory_counts(env, params, actions, key):
    _, state = env.reset(key, params)
    totals = {"memory_regret": 0, "memory_dropped": 0, "memory_not_kept": 0}
    for t, a in enumerate(actions):
        _, state, _, terminated, truncated, info = env.step(
            jax.random.fold_in(key, t), state, a, params)
        for name in totals:
            totals[name] += int(info[name])
        if terminated or truncated:
            break
    return totals


def test_memory_metrics_on_scripted_passive_tmaze():
    # Passive T-maze, L = 5: five steps, the last one terminal; the cue is seen at reset.
    base, params = envs.make("TMaze", length=5)
    env = AdaptiveStack(base, 2, "flat", relevant=is_cue)
    key = jax.random.key(0)
    keep = [1 + 4 * 0] + [1 + 4 * 1] * 4  # pop the zero frame, then always the newest
    assert memory_counts(env, params, keep, key) == {
        "memory_regret": 0, "memory_dropped": 0, "memory_not_kept": 0}
    drop_at_once = [1 + 4 * 1] * 5  # discard the cue at once: regret on steps 0..3
    assert memory_counts(env, params, drop_at_once, key) == {
        "memory_regret": 4, "memory_dropped": 0, "memory_not_kept": 1}
    window = [1] * 5  # frame stack κ=2: cue held one step, then dropped; regret on steps 1..3
    assert memory_counts(env, params, window, key) == {
        "memory_regret": 3, "memory_dropped": 1, "memory_not_kept": 0}


def test_outside_autoreset_refills_the_stack_and_stacks_the_final_observation():
    base, params = envs.make("TMaze", length=2)
    env = AdaptiveStack(envs.AutoReset(base), 2, "flat")
    key = jax.random.key(1)
    obs, state = env.reset(key, params)
    obs, state, _, _, _, _ = env.step(key, state, 1 + 4 * 0, params)  # to the junction
    obs, state, _reward, terminated, _, info = env.step(key, state, 0 + 4 * 0, params)
    assert bool(terminated)
    assert is_cue(info["final_observation"]).tolist() == [False, True]  # junction, arm
    np.testing.assert_array_equal(obs[0], np.zeros(4))  # fresh initial stack
    assert bool(is_cue(obs[1]))  # the new episode starts on the cue


def test_bad_arguments():
    base, _ = envs.make("TMaze")
    with pytest.raises(ValueError, match="num_stack"):
        AdaptiveStack(base, 0)
    with pytest.raises(ValueError, match="encoding"):
        AdaptiveStack(base, 2, "two-heads")
