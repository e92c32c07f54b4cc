"""The brax adapter: spaces and params (cheap), and a differential test that our ``step``
reproduces brax's own ``env.step`` (slow: compiling brax physics takes tens of seconds)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.brax_adapter import BraxEnv, BraxParams, make_brax

pytestmark = pytest.mark.filterwarnings("ignore:Brax System:UserWarning")

NAME = "inverted_pendulum"  # the cheapest brax environment to compile


def test_spaces_and_params():
    env, params = envs.make(f"brax/{NAME}", max_steps_in_episode=5)
    assert isinstance(env, BraxEnv) and params == BraxParams(max_steps_in_episode=5)
    assert env.default_params == BraxParams(max_steps_in_episode=1000)
    brax_env = env.unwrapped
    assert brax_env.backend == "generalized"
    action_space = env.action_space(params)
    assert tuple(action_space.shape) == (brax_env.action_size,) == (1,)
    assert (action_space.low, action_space.high) == (-1.0, 1.0)
    obs_space = env.observation_space(params)
    assert tuple(obs_space.shape) == (4,)  # cart position, hinge angle and their velocities
    assert obs_space.low == -jnp.inf and obs_space.high == jnp.inf


def test_constructor_overrides_reach_brax():
    env, params = make_brax(NAME, n_frames=3, max_steps_in_episode=9)
    reference, _ = make_brax(NAME)
    assert params.max_steps_in_episode == 9
    assert env.unwrapped.dt == pytest.approx(1.5 * reference.unwrapped.dt)  # 3 frames, not 2


def test_unknown_override_fails_before_building_brax():
    with pytest.raises(ValueError, match="ctrl_cost"):
        make_brax(NAME, ctrl_cost=0.1)  # inverted_pendulum has no ctrl cost
    with pytest.raises(ValueError, match="no_such_robot"):
        make_brax("no_such_robot")


@pytest.mark.slow
def test_step_matches_brax():
    env, params = make_brax(NAME, max_steps_in_episode=6)
    brax_env = env.unwrapped
    key = jax.random.PRNGKey(0)
    actions = jax.random.uniform(jax.random.PRNGKey(1), (10, 1), minval=-1.0, maxval=1.0)

    @jax.jit
    def both():
        obs0, state = env.reset(key, params)
        brax_state = brax_env.reset(key)

        def body(carry, action):
            state, brax_state = carry
            obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)
            brax_state = brax_env.step(brax_state, action)
            ours = (obs, reward, terminated, truncated, state.brax_state.pipeline_state)
            theirs = (brax_state.obs, brax_state.reward, brax_state.done, brax_state.pipeline_state)
            return (state, brax_state), (ours, theirs)

        return (obs0, brax_state.obs), jax.lax.scan(body, (state, brax_state), actions)[1]

    (obs0, b_obs0), (ours, theirs) = both()
    obs, reward, terminated, truncated, pipeline = ours
    b_obs, b_reward, b_done, b_pipeline = theirs
    np.testing.assert_array_equal(obs0, b_obs0)
    np.testing.assert_array_equal(obs, b_obs)
    np.testing.assert_array_equal(reward, np.broadcast_to(b_reward, reward.shape))
    np.testing.assert_array_equal(terminated, np.asarray(b_done) > 0)
    for ours, theirs in zip(jax.tree.leaves(pipeline), jax.tree.leaves(b_pipeline), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # The pendulum falls when |hinge angle| > 0.2 (brax's docstring); the clock truncates at 6.
    np.testing.assert_array_equal(terminated, np.abs(np.asarray(obs)[:, 1]) > 0.2)
    np.testing.assert_array_equal(truncated, np.arange(1, 11) >= 6)
