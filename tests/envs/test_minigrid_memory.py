"""MiniGrid Memory through the registry matches xminigrid's own steps."""

import jax
import numpy as np
import pytest
import xminigrid

import envs


def test_adapter_matches_xminigrid_and_truncates_at_its_limit():
    env, params = envs.make("MiniGrid-MemoryS8", max_steps=12)
    ref, _ = xminigrid.make("MiniGrid-MemoryS8")
    key = jax.random.key(0)
    obs, state = env.reset(key, params)
    ts = jax.jit(ref.reset)(params, key)
    ref_step = jax.jit(ref.step)
    actions = np.random.default_rng(0).integers(0, 6, size=12)
    for t, a in enumerate(actions):
        obs, state, reward, terminated, truncated, _ = env.step(key, state, int(a), params)
        ts = ref_step(params, ts, int(a))
        np.testing.assert_array_equal(obs, ts.observation)
        assert float(reward) == float(ts.reward)
        if terminated:  # reached an object before the limit
            assert float(ts.discount) == 0.0
            return
        assert bool(truncated) == (t == 11)
    assert env.observation_space(params).shape == obs.shape


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match="no parameter 'size'"):
        envs.make("MiniGrid-MemoryS16", size=3)
