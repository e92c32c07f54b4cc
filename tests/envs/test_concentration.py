"""Concentration against POPGym's rules, worked out by hand."""

import jax
import numpy as np
import pytest

import envs

FACE_DOWN = 2  # colours: values 0/1, code 2 = face down


def start(level="easy"):
    env, params = envs.make("Concentration", level=level)
    obs, state = env.reset(jax.random.key(0), params)
    return env, params, obs, state


def flip(env, params, state, card):
    return env.step(jax.random.key(0), state, card, params)


def test_perfect_memory_clears_the_deck_for_a_return_of_one():
    env, params, obs, state = start()
    assert np.all(np.asarray(obs).argmax(1) == FACE_DOWN)
    values = np.asarray(state.values)
    order = np.concatenate([np.flatnonzero(values == v) for v in (0, 1)])
    total, steps = 0.0, 0
    for card in order:
        obs, state, reward, terminated, truncated, _ = flip(env, params, state, int(card))
        total += float(reward)
        steps += 1
    assert bool(terminated) and not bool(truncated) and steps == 52
    assert total == pytest.approx(1.0)
    assert np.all(np.asarray(obs).argmax(1) == values)


def test_mismatch_face_up_and_same_card_penalties():
    env, params, _, state = start()
    length = env.episode_length
    assert length == 104  # ceil(2·52 − 52/103)
    values = np.asarray(state.values)
    a, b = np.flatnonzero(values == 0)[:2]
    c = np.flatnonzero(values == 1)[0]
    obs, state, r, *_ = flip(env, params, state, int(a))
    assert float(r) == 0.0 and np.asarray(obs).argmax(1)[a] == 0
    obs, state, r, *_ = flip(env, params, state, int(c))  # no match: both shown, then hidden
    assert float(r) == pytest.approx(-2 / length)
    assert np.asarray(obs).argmax(1)[[a, c]].tolist() == [0, 1]
    obs, state, r, *_ = flip(env, params, state, int(b))
    assert np.asarray(obs).argmax(1)[a] == FACE_DOWN and np.asarray(obs).argmax(1)[b] == 0
    obs, state, r, *_ = flip(env, params, state, int(b))  # the same card twice
    assert float(r) == pytest.approx(-2 / length)
    _, state, r, *_ = flip(env, params, state, int(a))
    _, state, r, *_ = flip(env, params, state, int(b))  # a pair: stays up
    assert float(r) == pytest.approx(1 / 26)
    _, state, r, *_ = flip(env, params, state, int(a))  # touching a face-up card
    assert float(r) == pytest.approx(-1 / length)
    _, state, r, *_ = flip(env, params, state, int(c))
    _, state, r, *_ = flip(env, params, state, int(a))  # second flip on a face-up card
    assert float(r) == pytest.approx(-2 / length)


def test_truncated_after_popgym_episode_length_and_levels():
    env, params, _, state = start()
    for t in range(env.episode_length):
        _, state, _, terminated, truncated, _ = flip(env, params, state, 0)
        assert bool(truncated) == (t == env.episode_length - 1) and not bool(terminated)
    hard, _ = envs.make("Concentration", level="hard")
    assert hard.num_values == 13 and hard.observation_space(None).shape == (52, 14)
    medium, _ = envs.make("Concentration", level="medium")
    assert medium.num_actions == 104
    with pytest.raises(ValueError, match="level"):
        envs.make("Concentration", level="expert")
