"""Each probe's rewards and episode ends match the table in ``envs.probes``' docstring."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs

KEYS = jax.random.split(jax.random.PRNGKey(0), 16)


def one_step(name, actions):
    """Reset with each key, take each action: ``(obs0, obs1, reward, terminated, truncated)``
    of shape ``(len(KEYS), len(actions), ...)``."""
    env, params = envs.make(name)

    def run(key, action):
        obs0, state = env.reset(key, params)
        obs1, _, reward, terminated, truncated, _ = env.step(key, state, action, params)
        return obs0, obs1, reward, terminated, truncated

    over_actions = jax.vmap(run, in_axes=(None, 0))
    return jax.device_get(jax.jit(jax.vmap(over_actions, in_axes=(0, None)))(KEYS, actions))


DISCRETE = jnp.array([0, 1], jnp.int32)
CONTINUOUS = jnp.linspace(-1.0, 1.0, 9)[:, None]


@pytest.mark.parametrize(
    "name, reward_of",  # reward as a function of (first obs, action), from the table
    [
        ("Probe-OneStep", lambda o, a: np.ones_like(a, np.float32)),
        ("Probe-ActionReward", lambda o, a: (a == 1).astype(np.float32)),
        ("Probe-ObsReward", lambda o, a: o + 0 * a),
        ("Probe-ObsActionReward", lambda o, a: ((a == 1) == (o > 0)).astype(np.float32)),
    ],
)
def test_one_step_discrete_probes(name, reward_of):
    obs0, _, reward, terminated, truncated = one_step(name, DISCRETE)
    o = obs0[..., 0]  # (keys, actions)
    a = np.broadcast_to(np.asarray(DISCRETE), o.shape)
    np.testing.assert_array_equal(reward, reward_of(o, a))
    assert terminated.all() and not truncated.any()
    if name.startswith("Probe-Obs"):
        assert set(np.unique(o)) == {-1.0, 1.0}, "obs is ±1 at random"
    else:
        assert (o == 0).all()


@pytest.mark.parametrize(
    "name, best_action",
    [
        ("Probe-ActionReward-Continuous", lambda o: 0.5 + 0 * o),
        ("Probe-ObsActionReward-Continuous", lambda o: 0.5 * o),
    ],
)
def test_one_step_continuous_probes(name, best_action):
    obs0, _, reward, terminated, truncated = one_step(name, CONTINUOUS)
    o = obs0[..., 0]
    a = np.broadcast_to(np.asarray(CONTINUOUS)[:, 0], o.shape)
    np.testing.assert_allclose(reward, -((a - best_action(o)) ** 2), rtol=1e-6, atol=1e-7)
    assert terminated.all() and not truncated.any()
    assert set(np.unique(o)) == ({-1.0, 1.0} if "Obs" in name else {0.0})


def test_two_step_probe():
    env, params = envs.make("Probe-TwoStep")
    key = jax.random.PRNGKey(3)

    @jax.jit
    def run(action):
        obs0, s = env.reset(key, params)
        obs1, s, r1, te1, tr1, _ = env.step(key, s, action, params)
        obs2, s, r2, te2, tr2, _ = env.step(key, s, action, params)
        return obs0, obs1, obs2, r1, r2, te1, te2, tr1 | tr2

    for action in (0, 1):
        obs0, obs1, _, r1, r2, te1, te2, truncated = run(jnp.int32(action))
        # obs 0 then obs 1, reward 0 then 1: V(0) = 0 + γ·1 = γ, V(1) = 1.
        assert obs0[0] == 0 and obs1[0] == 1
        assert (r1, r2) == (0.0, 1.0)
        assert not te1 and te2 and not truncated


def test_truncation_probe_only_ends_by_time_limit():
    env, params = envs.make("Probe-Truncation", max_steps_in_episode=3)

    @jax.jit
    def run(key):
        obs, state = env.reset(key, params)

        def step(state, action):
            obs, state, r, te, tr, _ = env.step(key, state, action, params)
            return state, (obs, r, te, tr)

        return jax.lax.scan(step, state, jnp.array([0, 1, 0]))[1]

    obs, reward, terminated, truncated = run(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(obs, np.zeros((3, 1)))
    np.testing.assert_array_equal(reward, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(terminated, [False, False, False])
    np.testing.assert_array_equal(truncated, [False, False, True])
