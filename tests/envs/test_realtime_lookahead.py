"""Looking ahead through the realtime wrapper: in a deterministic game, the predicted state at
the frame an action lands on is the state the game reaches, whatever the agent does meanwhile."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.realtime import Realtime, lookahead
from experiments.realtime_learning import scheduler


def run(env, state, params, actions):
    step = jax.jit(env.step)
    for i, a in enumerate(actions):
        _, state, *_ = step(jax.random.key(i), state, jnp.int32(a), params)
    return state


@pytest.mark.parametrize("mode, d", [("staggered", 4), ("sequential", 3), ("staggered", 1)])
def test_prediction_is_the_state_the_action_lands_on(mode, d):
    base, params = envs.make("CartPole-v1")
    env = Realtime(base, scheduler(mode, d))
    rng = np.random.default_rng(0)
    _, state = env.reset(jax.random.key(0), params)
    state = run(env, state, params, rng.integers(0, 2, 2 * d + 1))  # actions in flight
    predicted = lookahead(env, state, params, d, jax.random.key(9))
    for trial in range(2):  # what the agent gives over the next d frames does not matter
        actual = run(env, state, params, rng.integers(0, 2, d))
        np.testing.assert_allclose(np.asarray(predicted.env_state.x),
                                   np.asarray(actual.env_state.x), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(predicted.env_state.theta_dot),
                                   np.asarray(actual.env_state.theta_dot), rtol=1e-6)
        assert int(predicted.frame) == int(actual.frame) == int(state.frame) + d
    # Each of those frames moved the cart (the in-flight actions are not all noop).
    assert float(predicted.env_state.x) != float(state.env_state.x)


def test_bad_arguments():
    base, params = envs.make("CartPole-v1")
    _, state = base.reset(jax.random.key(0), params)
    with pytest.raises(TypeError, match="Realtime"):
        lookahead(base, state, params, 2, jax.random.key(0))
    env = Realtime(base, scheduler("staggered", 2))
    _, state = env.reset(jax.random.key(0), params)
    with pytest.raises(ValueError, match="frames=-1"):
        lookahead(env, state, params, -1, jax.random.key(0))
