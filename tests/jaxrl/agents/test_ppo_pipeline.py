"""PPO-BPTT with pipelined actors on a probe whose answer depends on the delay.

Probe-ObsActionReward: every episode is one step with a fresh observation ±1, and reward 1 when
the action matches its sign. The pipeline state is reset each episode, so a plain pipeline of
depth N > 1 acts before the observation reaches its head (expected return exactly 0.5 whatever
it learns), while the skip path and the undelayed reference see it at once (return → 1).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.agents.ppo_pipeline import PPOPipelineConfig, make_train
from jaxrl.config import ConfigError

PROBE = PPOPipelineConfig(
    env="Probe-ObsActionReward", num_envs=8, num_steps=8, total_timesteps=8 * 8 * 150,
    num_minibatches=2, network="mlp", depth=3, width=16, critic_hidden=(16,), lr=3e-3,
    ent_coef=0.0, gamma=0.9)


def _train(**kw):
    config = dataclasses.replace(PROBE, **kw)
    return jax.jit(make_train(config))(jax.random.key(0))


def _action_probs(policy):
    obs = jnp.array([[-1.0], [1.0]])
    _, logits, _ = jax.vmap(lambda o: policy(policy.initial_state(), o, True))(obs)
    return jax.nn.softmax(logits)


@pytest.mark.parametrize("variant,undelayed",
                         [("skip", False), pytest.param("plain", True, marks=pytest.mark.slow)])
def test_fresh_observation_paths_learn_the_probe(variant, undelayed):
    state, metrics = _train(variant=variant, undelayed=undelayed)
    assert np.isfinite(metrics["loss"]).all()
    assert metrics["env_steps"][-1] == PROBE.total_timesteps
    assert np.nanmean(metrics["episode_return"][-5:]) > 0.9
    p = _action_probs(state.policy)
    assert p[0, 0] > 0.9 and p[1, 1] > 0.9


@pytest.mark.slow
def test_plain_pipeline_cannot_see_this_ticks_observation():
    state, metrics = _train(variant="plain")
    p = _action_probs(state.policy)
    np.testing.assert_allclose(p[0], p[1])  # the output ignores the fresh observation
    assert abs(np.nanmean(metrics["episode_return"][-10:]) - 0.5) < 0.15


@pytest.mark.parametrize("field,value", [("variant", "slow"), ("num_steps", 5),
                                         ("num_minibatches", 3), ("network", "rnn")])
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        dataclasses.replace(PROBE, **{field: value})
