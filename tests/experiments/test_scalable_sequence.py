"""Part 3 of experiments.scalable_mdps: episode lengths by rollout and task-sequence mixing."""

import math

import jax
import numpy as np

import envs
from experiments import scalable_sequence as seq
from experiments.ppo_baseline import MINATAR_PPO


def test_length_counts_of_a_fixed_length_game():
    """Probe-TwoStep episodes last exactly 2 steps: 8 envs × 50 steps finish 200 of them."""
    env, params = envs.make("Probe-TwoStep")
    counts = seq.length_counts(env, params, seq.random_actor(env, params), jax.random.key(0),
                               num_envs=8, num_steps=50)
    assert counts[2] == 200 and counts.sum() == 200


def test_random_policy_sequence_study():
    games = ("CartPole-v1", "Probe-OneStep")
    summary, rows, tmix = seq.study(games, (1, 2), (10, 100), "random", 0, 16, 0.25,
                                    jax.random.key(0), MINATAR_PPO, rollout_steps=500,
                                    num_envs=8)
    # A random CartPole episode lasts about 22 steps; the one-step probe exactly 1.
    assert 15 < summary["episode_length/CartPole-v1"] < 30
    assert summary["episode_length/Probe-OneStep"] == 1.0
    assert summary["tmix_sequence/Probe-OneStep"] == 0.0
    assert tmix[1, 10] == tmix[1, 100] == summary["tmix_sequence/CartPole-v1"]
    # Rarer switches between the two games: slower mixing.
    assert math.isfinite(tmix[2, 100]) and tmix[2, 100] > tmix[2, 10]
    assert np.isfinite(summary["tmix_sequence_loglog_slope/period/K2"])
    assert [r["K"] for r in rows] == [1, 2]
