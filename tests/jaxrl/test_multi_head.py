"""Several discrete action heads (Adaptive Stacking's two-head encoding): the distribution by
hand, the action space detection, and PPO learning a reward that needs both heads right."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from envs.memory import AdaptiveStack, TMaze
from envs.probes import Probe
from jaxrl.agents.ppo import PPOConfig, make_train
from jaxrl.distributions import Categorical, MultiCategorical
from jaxrl.networks.build import action_info, action_sizes

LOGITS = jnp.array([0.0, 1.0, 2.0, -1.0, 0.5])  # head 0: 2 actions, head 1: 3 actions


def test_multi_categorical_by_hand():
    dist = MultiCategorical(LOGITS, (2, 3))
    p0 = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    p1 = np.exp([2.0, -1.0, 0.5]) / np.exp([2.0, -1.0, 0.5]).sum()
    assert float(dist.log_prob(jnp.array([1, 2]))) == pytest.approx(np.log(p0[1] * p1[2]))
    entropy = -(p0 * np.log(p0)).sum() - (p1 * np.log(p1)).sum()
    assert float(dist.entropy()) == pytest.approx(entropy, rel=1e-6)
    np.testing.assert_array_equal(dist.mode(), [1, 0])
    noise = jnp.array([5.0, 0.0, 0.0, 0.0, 9.0])  # Gumbel-max: the noise decides
    np.testing.assert_array_equal(dist.sample_with(noise), [0, 2])
    samples = jax.vmap(dist.sample)(jax.random.split(jax.random.key(0), 4000))
    assert samples.shape == (4000, 2)
    np.testing.assert_allclose(np.bincount(samples[:, 1], minlength=3) / 4000, p1, atol=0.03)
    # One head is the plain categorical.
    one = MultiCategorical(LOGITS[:2], (2,))
    assert float(one.log_prob(jnp.array([1]))) == pytest.approx(
        float(Categorical(LOGITS[:2]).log_prob(jnp.array(1))))
    with pytest.raises(ValueError, match="sizes"):
        MultiCategorical(LOGITS, (2, 2))


def test_action_spaces():
    multi = AdaptiveStack(TMaze(), 3, "multi").action_space(None)
    assert action_sizes(multi) == (4, 3) and action_info(multi) == (True, 7)
    assert action_sizes(spaces.Discrete(5)) == (5,)
    assert action_sizes(spaces.Box(-1.0, 1.0, (2,), jnp.float32)) is None
    with pytest.raises(ValueError, match="lower bounds 0"):
        action_sizes(spaces.Box(1, 3, (2,), jnp.int32))


class TwoHeadBandit(Probe):
    """One step; reward 1 only for the action [1, 2] of the heads (2, 3)."""

    def __init__(self):
        super().__init__("one_step", name="TwoHeadBandit")

    def action_space(self, params=None):
        return spaces.Box(0, np.array([1, 2]), (2,), jnp.int32)

    def step_env(self, key, state, action, params):
        obs, new, _, terminated, info = super().step_env(key, state, 0, params)
        reward = jnp.where((action[0] == 1) & (action[1] == 2), 1.0, 0.0)
        return obs, new, reward, terminated, info


def test_ppo_learns_a_reward_that_needs_both_heads():
    config = PPOConfig(env="Probe-OneStep", num_envs=8, num_steps=16,
                       total_timesteps=8 * 16 * 60, num_minibatches=2, hidden=(32,), lr=3e-3,
                       ent_coef=0.0, gamma=0.9)
    env = TwoHeadBandit()
    state, metrics = jax.jit(make_train(config, env=env, env_params=env.default_params))(
        jax.random.key(0))
    _, logits, _ = state.policy(state.policy.initial_state(), jnp.zeros((1,)), True)
    best = MultiCategorical(logits, (2, 3)).log_prob(jnp.array([1, 2]))
    assert float(jnp.exp(best)) > 0.9  # a random policy gets it 1/6 of the time
    assert np.nanmean(np.asarray(metrics["episode_return"])[-10:]) > 0.9
