"""The two-agent HalfCheetah: registry, spaces and the reward split (cheap), and a differential
test against brax's own HalfCheetah stepped with the concatenated action (slow: compiling brax
physics takes tens of seconds)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.cheetah2 import AGENTS, Cheetah2, Cheetah2Params, make_cheetah2, split_rewards

pytestmark = pytest.mark.filterwarnings("ignore:Brax System:UserWarning")


def test_registry_spaces_and_params():
    env, params = envs.make("Cheetah2", max_steps_in_episode=7)
    assert isinstance(env, Cheetah2) and params == Cheetah2Params(max_steps_in_episode=7)
    assert env.agents == list(AGENTS) and env.num_agents == 2
    assert env.brax_env.unwrapped.backend == "generalized"
    for agent in AGENTS:
        space = env.action_space(agent, params)
        assert tuple(space.shape) == (3,) and (space.low, space.high) == (-1.0, 1.0)
        assert tuple(env.observation_space(agent, params).shape) == (17,)  # brax's observation
    action = env.joint_action({"agent_0": jnp.array([1.0, 2, 3]),
                               "agent_1": jnp.array([4.0, 5, 6])})
    np.testing.assert_array_equal(action, [1, 2, 3, 4, 5, 6])  # back leg first, as brax


def test_unknown_parameter_fails_before_building_brax():
    with pytest.raises(ValueError, match="max_steps"):
        make_cheetah2(max_steps=3)
    with pytest.raises(ValueError, match="'ctrl_cost'.*ctrl_cost_weight"):
        make_cheetah2(ctrl_cost=0.1)


def test_split_rewards_by_hand():
    # r_k = forward − w‖a_k‖²: ‖a_0‖² = 0.25 + 1 = 1.25, ‖a_1‖² = 0.09 + 0.16 = 0.25; w = 0.1.
    actions = {"agent_0": jnp.array([0.5, -1.0, 0.0]), "agent_1": jnp.array([0.3, 0.0, -0.4])}
    rewards = split_rewards(jnp.float32(2.0), actions, 0.1)
    assert float(rewards["agent_0"]) == pytest.approx(2.0 - 0.125)
    assert float(rewards["agent_1"]) == pytest.approx(2.0 - 0.025)


@pytest.mark.slow
def test_step_matches_brax_halfcheetah():
    # Our game and brax's HalfCheetah run side by side from the same reset, brax stepped with
    # the concatenated action: observations, physics and the total reward must agree.
    steps, limit = 6, 4
    env, params = make_cheetah2(max_steps_in_episode=limit)
    brax_env = env.brax_env.unwrapped
    key = jax.random.PRNGKey(0)
    actions = jax.random.uniform(jax.random.PRNGKey(1), (steps, 6), minval=-1.0, maxval=1.0)

    @jax.jit
    def both():
        obs0, state = env.reset(key, params)
        brax_state = brax_env.reset(key)

        def body(carry, action):
            state, brax_state = carry
            split = {"agent_0": action[:3], "agent_1": action[3:]}
            obs, state, rewards, dones, info = env.step(key, state, split, params)
            brax_state = brax_env.step(brax_state, action)
            ours = (obs, rewards, dones, info["truncated"], state.brax_state.pipeline_state.q)
            return (state, brax_state), (ours, (brax_state.obs, brax_state.reward,
                                                brax_state.metrics["reward_run"],
                                                brax_state.pipeline_state.q))

        _, out = jax.lax.scan(body, (state, brax_state), actions)
        return obs0, brax_state.obs, out

    obs0, brax_obs0, ((obs, rewards, dones, truncated, q), (b_obs, b_reward, b_run, b_q)) = (
        both())
    for agent in AGENTS:
        np.testing.assert_array_equal(obs0[agent], brax_obs0)
        np.testing.assert_allclose(obs[agent], b_obs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(q, b_q, rtol=1e-5, atol=1e-5)
    assert np.abs(np.diff(np.asarray(b_obs), axis=0)).max() > 1e-3  # the physics moved
    # r_k = forward − 0.1‖a_k‖², and r_0 + r_1 − forward is brax's reward
    ctrl = 0.1 * np.square(np.asarray(actions)).reshape(steps, 2, 3).sum(-1)
    np.testing.assert_allclose(rewards["agent_0"], b_run - ctrl[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rewards["agent_1"], b_run - ctrl[:, 1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rewards["agent_0"] + rewards["agent_1"] - b_run, b_reward,
                               rtol=1e-5, atol=1e-5)
    # HalfCheetah never terminates: the episode ends by the time limit only (time >= 4)
    expected = np.arange(1, steps + 1) >= limit
    np.testing.assert_array_equal(truncated, expected)
    for agent in (*AGENTS, "__all__"):
        np.testing.assert_array_equal(dones[agent], expected)
