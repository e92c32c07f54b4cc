"""Policy-free baselines on a probe with a known answer: one step, reward 1 for action 1."""

import jax
import pytest

import envs
from jaxrl.random_policy import baseline_return, random_policy_return


def test_baselines_on_the_action_reward_probe():
    env, params = envs.make("Probe-ActionReward")
    key = jax.random.key(0)
    assert float(baseline_return(env, params, key, "noop", num_envs=8, num_steps=50)) == 0.0
    assert float(baseline_return(env, params, key, "noop", num_envs=8, num_steps=50,
                                 noop_action=1)) == 1.0
    # 8 × 200 one-step episodes of a fair coin: mean 0.5, standard error 0.0125.
    random = float(random_policy_return(env, params, key, num_envs=8, num_steps=200))
    assert random == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="policy="):
        baseline_return(env, params, key, "greedy")
