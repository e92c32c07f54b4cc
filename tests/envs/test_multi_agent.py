"""The multi-agent API (dicts per agent, ``dones["__all__"]``, no reset inside ``step``) and
``MultiAgentAutoReset``, on a two-agent matching game defined here as a fixture."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from gymnax.environments import spaces

from envs import MultiAgentAutoReset, MultiAgentEnv


@struct.dataclass
class MatchingState:
    time: jax.Array
    last_actions: jax.Array  # (2,)


@struct.dataclass
class MatchingParams:
    num_rounds: int = 1  # the game terminates after this many rounds
    max_steps_in_episode: int = 100  # time limit (truncation)


class MatchingGame(MultiAgentEnv):
    """Each agent picks 0 or 1; both get reward 1 when the picks match, else 0.

    Each agent observes ``[time, own last action, other's last action]`` (zeros after reset).
    """

    def __init__(self):
        self.agents = ["alice", "bob"]

    @property
    def default_params(self):
        return MatchingParams()

    def _obs(self, state):
        t = state.time.astype(jnp.float32)
        mine, other = state.last_actions.astype(jnp.float32)
        return {"alice": jnp.stack([t, mine, other]), "bob": jnp.stack([t, other, mine])}

    def reset_env(self, key, params):
        state = MatchingState(jnp.zeros((), jnp.int32), jnp.zeros((2,), jnp.int32))
        return self._obs(state), state

    def step_env(self, key, state, actions, params):
        joint = jnp.stack([actions["alice"], actions["bob"]])
        state = MatchingState(state.time + 1, joint)
        reward = (joint[0] == joint[1]).astype(jnp.float32)
        over = state.time >= params.num_rounds
        return self._obs(state), state, {a: reward for a in self.agents}, {
            a: over for a in self.agents
        }, {}

    def observation_space(self, agent, params=None):
        return spaces.Box(0.0, jnp.inf, (3,), jnp.float32)

    def action_space(self, agent, params=None):
        return spaces.Discrete(2)


def test_api_shapes():
    env = MatchingGame()
    assert env.num_agents == 2 and env.agents == ["alice", "bob"]
    obs, _ = env.reset(jax.random.PRNGKey(0))
    assert set(obs) == set(env.agents)
    for agent in env.agents:
        assert obs[agent].shape == env.observation_space(agent).shape
        assert env.action_space(agent, env.default_params).n == 2


@pytest.mark.parametrize("a, b", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_one_shot_rewards_and_dones(a, b):
    env = MatchingGame()
    key = jax.random.PRNGKey(0)
    _, state = env.reset(key)
    actions = {"alice": jnp.int32(a), "bob": jnp.int32(b)}
    obs, state, rewards, dones, info = env.step(key, state, actions)
    assert rewards == {"alice": float(a == b), "bob": float(a == b)}
    assert set(dones) == {"alice", "bob", "__all__"} and all(bool(d) for d in dones.values())
    assert not info["truncated"]
    # No reset inside step: the observation is the final one.
    np.testing.assert_array_equal(obs["alice"], [1, a, b])
    np.testing.assert_array_equal(obs["bob"], [1, b, a])


def test_time_limit_truncates():
    env = MatchingGame()
    params = MatchingParams(num_rounds=5, max_steps_in_episode=3)
    key = jax.random.PRNGKey(0)
    _, state = env.reset(key, params)
    actions = {"alice": jnp.int32(1), "bob": jnp.int32(0)}
    history = []
    for _ in range(3):
        _, state, _, dones, info = env.step(key, state, actions, params)
        history.append((bool(dones["alice"]), bool(dones["__all__"]), bool(info["truncated"])))
    assert history == [(False, False, False), (False, False, False), (True, True, True)]


def test_autoreset_under_jit_vmap_and_scan():
    env = MultiAgentAutoReset(MatchingGame())
    params = MatchingParams(num_rounds=3)
    num_envs, num_steps = 4, 7
    key_a, key_b, key_steps = jax.random.split(jax.random.PRNGKey(1), 3)
    actions = {
        "alice": jax.random.bernoulli(key_a, shape=(num_steps, num_envs)).astype(jnp.int32),
        "bob": jax.random.bernoulli(key_b, shape=(num_steps, num_envs)).astype(jnp.int32),
    }
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    @jax.jit
    def run(key):
        _, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, num_envs), params)

        def body(state, x):
            keys, acts = x
            obs, state, rewards, dones, info = step(keys, state, acts, params)
            return state, (obs, rewards, dones, info, state.time)

        keys = jax.random.split(key, (num_steps, num_envs))
        return jax.lax.scan(body, state, (keys, actions))[1]

    obs, rewards, dones, info, time = run(key_steps)
    match = (actions["alice"] == actions["bob"]).astype(np.float32)
    np.testing.assert_array_equal(rewards["alice"], match)
    np.testing.assert_array_equal(rewards["bob"], match)
    # Episodes of 3 rounds: done on steps 3 and 6, reset to time 0 there.
    expected_done = np.array([0, 0, 1, 0, 0, 1, 0], bool)[:, None].repeat(num_envs, 1)
    np.testing.assert_array_equal(dones["__all__"], expected_done)
    np.testing.assert_array_equal(time[:, 0], [1, 2, 0, 1, 2, 0, 1])
    np.testing.assert_array_equal(obs["alice"][expected_done], np.zeros((8, 3)))
    final = info["final_observation"]
    final_time = np.array([1, 2, 3, 1, 2, 3, 1])[:, None].repeat(num_envs, 1)
    np.testing.assert_array_equal(final["alice"][..., 0], final_time)
    np.testing.assert_array_equal(final["alice"][..., 1], actions["alice"])
    np.testing.assert_array_equal(final["bob"][..., 1], actions["bob"])
    not_done = ~expected_done
    np.testing.assert_array_equal(obs["bob"][not_done][:, 2], actions["alice"][not_done])
    assert not np.asarray(info["truncated"]).any()


def test_wrapper_rejects_single_agent_env():
    with pytest.raises(TypeError, match="MultiAgentEnv"):
        MultiAgentAutoReset(object())
