"""XOR-maze dynamics by hand on the reference code's length-5 map (arm 1) and length-10 (arm 2)."""

import jax
import numpy as np
import pytest

import envs
from envs.memory.tmaze import CORRIDOR, CUE_UP, DOWN, JUNCTION, LEFT, RIGHT, UP


def run(actions, key, **overrides):
    env, params = envs.make("XORMaze", **overrides)
    obs, state = env.reset(key, params)
    codes, steps = [int(np.argmax(obs))], []
    for a in actions:
        obs, state, reward, terminated, truncated, _ = env.step(key, state, a, params)
        codes.append(int(np.argmax(obs)))
        steps.append((float(reward), bool(terminated), bool(truncated)))
        if terminated or truncated:
            break
    return codes, steps, state


@pytest.mark.parametrize("seed", range(4))
def test_visit_both_cues_then_the_xor_goal(seed):
    key = jax.random.key(seed)
    _, _, start = run([], key)
    c0, c1 = (int(c) for c in start.cues)
    goal = UP if c0 == c1 else DOWN
    codes, steps, _ = run([LEFT, RIGHT, RIGHT, LEFT, goal], key)
    assert codes[:5] == [JUNCTION, CUE_UP + c0, JUNCTION, CUE_UP + c1, JUNCTION]
    assert steps == [(0.0, False, False)] * 4 + [(1.0, True, False)]
    _, steps, _ = run([UP if goal == DOWN else DOWN], key)
    assert steps == [(-1.0, True, False)]


def test_arm_two_has_corridors_and_walls():
    key = jax.random.key(0)
    codes, steps, state = run([LEFT, UP, LEFT, LEFT, RIGHT], key, arm=2)
    # left into the corridor, up is a wall there, left to the cue, left again a wall, back
    assert codes[1:3] == [CORRIDOR, CORRIDOR] and codes[3] == codes[4] == CUE_UP + int(
        state.cues[0])
    assert codes[5] == CORRIDOR and all(s == (0.0, False, False) for s in steps)


def test_step_limit_and_continual_mode():
    key = jax.random.key(1)
    _, steps, _ = run([LEFT, RIGHT] * 3, key, max_steps_in_episode=5)
    assert steps[-1] == (0.0, False, True) and len(steps) == 5
    codes, steps, _ = run([UP, UP, UP], key, continual=True)
    assert all(not t for _, t, _ in steps) and codes == [JUNCTION] * 4  # back to the centre


def test_bad_params():
    with pytest.raises(ValueError, match="arm"):
        envs.make("XORMaze", arm=0)
