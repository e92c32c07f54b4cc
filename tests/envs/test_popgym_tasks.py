"""POPGym-style memory tasks: masked CartPoles against gymnax's CartPole, card tasks by hand."""

import jax
import numpy as np
import pytest
from gymnax.environments.classic_control.cartpole import CartPole

import envs


def test_masked_cartpoles_observe_parts_of_gymnax_cartpole_state():
    ref = CartPole()
    for name, idx in (("PositionOnlyCartPole", [0, 2]), ("VelocityOnlyCartPole", [1, 3])):
        env, params = envs.make(name)
        key = jax.random.key(0)
        obs, state = env.reset(key, params)
        for t in range(30):
            full = np.array([state.x, state.x_dot, state.theta, state.theta_dot])
            np.testing.assert_allclose(obs, full[idx], rtol=1e-6)
            action = t % 2
            want = ref.step_env(key, state, action, params.cartpole)[1]
            obs, state, reward, terminated, _truncated, _ = env.step(key, state, action, params)
            np.testing.assert_allclose(state.x, want.x, rtol=1e-6)
            if terminated:
                assert float(reward) == -1.0
                break
            assert float(reward) == pytest.approx(1 / 200)


def test_noisy_position_noise_has_the_level_sigma_and_is_clipped():
    env, params = envs.make("NoisyPositionOnlyCartPole", level="hard")
    assert params.max_episode_length == 600 and params.noise_sigma == 0.3
    keys = jax.random.split(jax.random.key(0), 4000)
    obs, states = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    noise = np.asarray(obs) - np.stack([states.x, states.theta], axis=1)
    # The cart position's bound (4.8) is far away: its noise is the plain N(0, 0.3²) draw.
    assert abs(noise[:, 0].std() - 0.3) < 0.015 and abs(noise[:, 0].mean()) < 0.015
    # The angle's bound (0.42 rad) clips it: the clipped noise is narrower but not zero.
    assert 0.15 < noise[:, 1].std() < 0.3
    bound = 2 * np.array([2.4, 12 * 2 * np.pi / 360])
    assert np.all(np.abs(np.asarray(obs)) <= bound + 1e-6)


def test_truncation_at_the_popgym_episode_length():
    env, params = envs.make("PositionOnlyCartPole", max_episode_length=3)
    _, state = env.reset(jax.random.key(1), params)
    flags = []
    for t in range(3):
        _, state, _, terminated, truncated, _ = env.step(jax.random.key(t), state, t % 2,
                                                           params)
        flags.append((bool(terminated), bool(truncated)))
    assert flags == [(False, False), (False, False), (False, True)]


def play_cards(name, policy, **overrides):
    env, params = envs.make(name, **overrides)
    _, state = env.reset(jax.random.key(3), params)
    total, steps, rewards = 0.0, 0, []
    while True:
        action = policy(state)
        _obs, state, reward, terminated, truncated, _ = env.step(jax.random.key(0), state,
                                                                action, params)
        total += float(reward)
        rewards.append(float(reward))
        steps += 1
        if terminated or truncated:
            return total, steps, rewards, env


def test_repeat_previous_oracle_scores_one_and_episode_lasts_n_minus_one():
    k = 4
    total, steps, rewards, _env = play_cards(
        "RepeatPrevious", lambda s: s.suits[max(int(s.time) + 1 - k, 0)])
    assert steps == 51 and rewards[: k - 1] == [0.0] * (k - 1)
    assert total == pytest.approx(1.0)
    wrong, *_ = play_cards("RepeatPrevious", lambda s: (s.suits[max(int(s.time) + 1 - k, 0)]
                                                        + 1) % 4)
    assert wrong == pytest.approx(-1.0)


def test_autoencode_oracle_recites_in_reverse_and_scores_one():
    n = 52

    def oracle(s):
        t = int(s.time)
        return s.suits[max(2 * (n - 1) - t, 0)] if t >= n - 1 else 0

    total, steps, rewards, _env = play_cards("Autoencode", oracle)
    assert steps == 2 * n - 1 and rewards[: n - 1] == [0.0] * (n - 1)
    assert total == pytest.approx(1.0)


def test_autoencode_observations_show_the_deck_then_play_mode():
    env, params = envs.make("Autoencode")
    obs, state = env.reset(jax.random.key(5), params)
    seen = [obs]
    for _ in range(52):
        obs, state, *_ = env.step(jax.random.key(0), state, 0, params)
        seen.append(obs)
    seen = np.stack(seen)
    assert np.all(seen[:51, 0] == 1) and np.all(seen[51:, 0] == 0)  # watching, then playing
    np.testing.assert_array_equal(seen[:52, 1:].argmax(1), np.asarray(state.suits))
    np.testing.assert_array_equal(seen[52, 1:], np.zeros(4))
    assert sorted(np.bincount(np.asarray(state.suits))) == [13, 13, 13, 13]


def test_bad_card_task_arguments():
    with pytest.raises(ValueError, match="k=52"):
        envs.make("RepeatPrevious", k=52)
    with pytest.raises(ValueError, match="level"):
        envs.make("Autoencode", level="expert")
