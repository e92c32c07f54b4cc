"""T-maze dynamics worked out by hand from the reference code's grid (cue | corridor | junction)."""

import jax
import numpy as np
import pytest

import envs
from envs.memory import is_cue
from envs.memory.tmaze import (
    CORRIDOR,
    CUE_UP,
    DOWN,
    JUNCTION,
    LEFT,
    RIGHT,
    UP,
)


def code(obs):
    return int(np.argmax(obs))


def play(params, actions, key=None):
    key = jax.random.key(0) if key is None else key
    env, _ = envs.make("TMaze")
    obs, state = env.reset(key, params)
    codes, steps = [code(obs)], []
    for t, a in enumerate(actions):
        obs, state, reward, terminated, truncated, _info = env.step(
            jax.random.fold_in(key, t), state, a, params)
        codes.append(code(obs))
        steps.append((float(reward), bool(terminated), bool(truncated)))
        if terminated or truncated:
            break
    return codes, steps, state


def cue_and_goal(key):
    env, params = envs.make("TMaze", length=4)
    obs, state = env.reset(key, params)
    return code(obs), int(state.goal)


def test_passive_episode_by_hand():
    # L = 4: cue, 2 corridor cells, junction; any action moves right; the arm is chosen at the
    # junction (up/right -> up, down/left -> down); exactly L = 4 steps.
    _, params = envs.make("TMaze", length=4)
    key = jax.random.key(0)
    cue, goal = cue_and_goal(key)
    assert cue == CUE_UP + goal
    correct = UP if goal == 0 else DOWN
    codes, steps, _ = play(params, [LEFT, UP, DOWN, correct], key)
    assert codes[:4] == [cue, CORRIDOR, CORRIDOR, JUNCTION]
    assert steps == [(0.0, False, False)] * 3 + [(1.0, True, False)]
    wrong = DOWN if goal == 0 else UP
    _, steps, _ = play(params, [RIGHT, RIGHT, RIGHT, wrong], key)
    assert steps[-1] == (-1.0, True, False)


def test_active_episode_by_hand():
    # Active: start right of the cue (a corridor cell), step left to see it; limit L + 1.
    _, params = envs.make("TMaze", length=3, active=True)
    key = jax.random.key(1)
    _, goal = cue_and_goal(key)
    correct = UP if goal == 0 else DOWN
    codes, steps, _ = play(params, [LEFT, RIGHT, RIGHT, correct], key)
    assert codes == [CORRIDOR, CUE_UP + goal, CORRIDOR, JUNCTION, CUE_UP + goal]
    assert steps == [(0.0, False, False)] * 3 + [(1.0, True, False)]
    # One wasted step (left into the wall) and the limit L + 1 = 4 ends it at the junction.
    codes, steps, _ = play(params, [LEFT, LEFT, RIGHT, RIGHT, correct], key)
    assert codes == [CORRIDOR, CUE_UP + goal, CUE_UP + goal, CORRIDOR, JUNCTION]
    assert steps[-1] == (0.0, False, True)
    # Up/down in the corridor bump into walls; the limit truncates after L + 1 = 4 steps.
    codes, steps, _ = play(params, [UP, DOWN, UP, DOWN, UP], key)
    assert codes == [CORRIDOR] * 5
    assert steps == [(0.0, False, False)] * 3 + [(0.0, False, True)]


def test_random_length_covers_two_to_length():
    env, params = envs.make("TMaze", length=6, random_length=True)
    keys = jax.random.split(jax.random.key(0), 400)
    _, states = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    assert sorted(set(np.asarray(states.length).tolist())) == [2, 3, 4, 5, 6]
    # An episode of length 2 reaches the junction after one step.
    i = int(np.argmax(np.asarray(states.length) == 2))
    obs, state = env.reset(keys[i], params)
    obs, *_ = env.step(keys[i], state, RIGHT, params)
    assert code(obs) == JUNCTION


def test_continual_mode_returns_to_a_new_cue_without_ending():
    _, params = envs.make("TMaze", length=2, continual=True)
    env, _ = envs.make("TMaze")
    key = jax.random.key(5)
    obs, state = env.reset(key, params)
    rewards, goals = [], []
    for t in range(40):
        obs, state, reward, terminated, truncated, _ = env.step(
            jax.random.fold_in(key, t), state, UP, params)
        assert not terminated and not truncated
        rewards.append(float(reward))
        if reward != 0:
            assert is_cue(obs)  # back on the cue cell, which shows the new goal
            goals.append(int(state.goal))
    assert len(goals) == 20  # an arm every second step
    assert set(goals) == {0, 1}
    assert set(rewards) == {0.0, 1.0, -1.0}


def test_bad_params():
    with pytest.raises(ValueError, match="length"):
        envs.make("TMaze", length=1)
    with pytest.raises(ValueError, match="no parameter 'size'"):
        envs.make("TMaze", size=3)
