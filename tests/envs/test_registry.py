"""The registry: every name is makeable, errors name the culprit, and a gymnax name under
AutoReset steps exactly like gymnax's own (auto-resetting) ``step``."""

import os

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.registry import BRAX_ENVS

# gymnax's MNISTBandit downloads MNIST into /tmp/mnist when it is built; offline it cannot be.
_MNIST_CACHED = os.path.exists("/tmp/mnist/train-images-idx3-ubyte.gz")


@pytest.mark.parametrize("name", gymnax.registered_envs)
def test_every_gymnax_name_is_makeable(name):
    if name == "MNISTBandit-bsuite" and not _MNIST_CACHED:
        pytest.skip("MNISTBandit downloads MNIST on construction; no network here")
    env, params = envs.make(name)
    assert isinstance(env, envs.Environment)
    _, reference_params = gymnax.make(name)
    assert jax.tree.all(jax.tree.map(lambda a, b: np.array_equal(a, b), params, reference_params))
    obs, _ = jax.eval_shape(env.reset, jax.random.PRNGKey(0), params)
    space = env.observation_space(params)
    assert obs.shape == tuple(space.shape), name


def test_overrides_set_params():
    _, params = envs.make("CartPole-v1", max_steps_in_episode=7)
    assert params.max_steps_in_episode == 7
    _, params = envs.make("Probe-TwoStep", max_steps_in_episode=3)
    assert params.max_steps_in_episode == 3


def test_unknown_name_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="NoSuchEnv-v9"):
        envs.make("NoSuchEnv-v9")
    with pytest.raises(ValueError, match="brax/no_such_robot"):
        envs.make("brax/no_such_robot")


@pytest.mark.parametrize("name", ["CartPole-v1", "Probe-OneStep", "brax/inverted_pendulum"])
def test_unknown_override_is_a_value_error_naming_it(name):
    with pytest.raises(ValueError, match="max_steps_per_episode"):
        envs.make(name, max_steps_per_episode=5)


def test_registered_lists_probes_gymnax_and_brax():
    names = set(envs.registered())
    assert set(envs.PROBES) <= names
    assert set(gymnax.registered_envs) <= names
    assert {f"brax/{n}" for n in BRAX_ENVS} <= names
    assert "brax/halfcheetah" in names and "brax/inverted_pendulum" in names


def _rollout(step, reset, params, key, num_steps, action_space):
    """Reset, then ``num_steps`` random steps in one scan: per-step (transition, state)."""
    key_reset, key_actions, key_steps = jax.random.split(key, 3)
    actions = jax.vmap(action_space.sample)(jax.random.split(key_actions, num_steps))
    _, state = reset(key_reset, params)

    def body(state, x):
        k, a = x
        obs, state, reward, terminated, truncated, info = step(k, state, a, params)
        return state, (obs, reward, terminated, truncated, info, state)

    return jax.lax.scan(body, state, (jax.random.split(key_steps, num_steps), actions))[1]


# CartPole with a short time limit, so both termination and truncation happen in 100 steps.
@pytest.mark.parametrize(
    "name, overrides",
    [
        ("CartPole-v1", {"max_steps_in_episode": 12}),
        ("Breakout-MinAtar", {}),
        ("Catch-bsuite", {}),
    ],
)
def test_autoreset_steps_like_gymnax(name, overrides):
    env, params = envs.make(name, **overrides)
    ours = envs.AutoReset(env)
    reference, ref_params = gymnax.make(name)
    ref_params = ref_params.replace(**overrides)
    space = env.action_space(params)
    key = jax.random.PRNGKey(42)
    run = jax.jit(
        lambda: (
            _rollout(ours.step, ours.reset, params, key, 100, space),
            _rollout(reference.step, reference.reset, ref_params, key, 100, space),
        )
    )
    got, want = run()
    obs, reward, terminated, truncated, info, state = got
    r_obs, r_reward, r_terminated, r_truncated, r_info, r_state = want
    done = np.asarray(terminated | truncated)
    assert done.any(), "the rollout must cross an episode boundary to test auto-reset"
    if name == "CartPole-v1":
        assert np.asarray(truncated).any() and np.asarray(terminated).any()
    np.testing.assert_array_equal(obs, r_obs)
    np.testing.assert_array_equal(reward, r_reward)
    np.testing.assert_array_equal(terminated, r_terminated)
    np.testing.assert_array_equal(truncated, r_truncated)
    assert set(info) == set(r_info)
    for k in info:
        np.testing.assert_array_equal(info[k], r_info[k], err_msg=k)
    for leaf, r_leaf in zip(jax.tree.leaves(state), jax.tree.leaves(r_state), strict=True):
        np.testing.assert_array_equal(leaf, r_leaf)
    # After an episode end the returned obs is a fresh reset, not the final observation.
    assert not np.array_equal(obs[done], info["final_observation"][done])
    np.testing.assert_array_equal(obs[~done], info["final_observation"][~done])
    assert jnp.issubdtype(np.asarray(terminated).dtype, jnp.bool_)
