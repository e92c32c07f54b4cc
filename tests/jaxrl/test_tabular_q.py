"""Tabular Q-learning against closed-form values: the probe environments, a chain MDP solved by
value iteration in numpy, and a time-limited MDP whose Q must bootstrap through truncation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from gymnax.environments import spaces

import envs
from jaxrl.agents.tabular_q import TabularQConfig, make_train
from jaxrl.config import ConfigError

# Probe observations {-1, 0, 1} are rows 0, 1, 2 (rule 3: round(obs) - low).
NEG, ZERO, POS = 0, 1, 2


def train(config, key=0, **env_kw):
    final, metrics = jax.jit(make_train(config, **env_kw))(jax.random.key(key))
    return final, metrics


def probe_q(env, gamma=0.5, **kw):
    config = TabularQConfig(env=env, num_envs=4, total_timesteps=2000, lr=0.2, gamma=gamma,
                            epsilon=0.5, **kw)
    return np.asarray(train(config)[0].q)


def test_probe_one_step():
    q = probe_q("Probe-OneStep")
    np.testing.assert_allclose(q[ZERO], [1.0, 1.0], atol=1e-4)
    np.testing.assert_array_equal(q[[NEG, POS]], 0.0)  # never visited


def test_probe_two_step_discounts():
    q = probe_q("Probe-TwoStep", gamma=0.5)
    np.testing.assert_allclose(q[ZERO], [0.5, 0.5], atol=1e-4)  # obs 0: γ
    np.testing.assert_allclose(q[POS], [1.0, 1.0], atol=1e-4)  # obs 1: 1


def test_probe_action_reward():
    q = probe_q("Probe-ActionReward")
    np.testing.assert_allclose(q[ZERO], [0.0, 1.0], atol=1e-4)


def test_probe_obs_reward():
    q = probe_q("Probe-ObsReward")
    np.testing.assert_allclose(q[POS], [1.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(q[NEG], [-1.0, -1.0], atol=1e-4)


def test_probe_obs_action_reward():
    q = probe_q("Probe-ObsActionReward")
    np.testing.assert_allclose(q[POS], [0.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(q[NEG], [1.0, 0.0], atol=1e-4)


def test_user_state_index():
    """Rule 1: a user-supplied index (sign of the observation, two rows)."""
    config = TabularQConfig(env="Probe-ObsReward", num_states=2, num_envs=4,
                            total_timesteps=1000, lr=0.2, epsilon=0.5,
                            state_index=lambda o: (o[0] > 0).astype(jnp.int32))
    q = np.asarray(train(config)[0].q)
    np.testing.assert_allclose(q, [[-1.0, -1.0], [1.0, 1.0]], atol=1e-4)


# --- a chain MDP solved independently by value iteration -------------------------------------

N_CHAIN = 5
# A fixed, arbitrary reward table r(s, a); entering the last state ends the episode (+1 more).
CHAIN_R = np.random.default_rng(0).uniform(-0.5, 0.5, (N_CHAIN, 2)).astype(np.float32)


@struct.dataclass
class ChainState:
    pos: jax.Array
    time: jax.Array


@struct.dataclass
class ChainParams:
    max_steps_in_episode: int = 6


class Chain(envs.Environment):
    """States 0..N-1, start at 0; action 1 moves right, 0 left (clamped at 0). Entering N-1
    terminates with bonus +1; episodes are cut at 6 steps (truncation, not termination)."""

    def __init__(self, one_hot: bool):
        self.one_hot = one_hot

    @property
    def default_params(self):
        return ChainParams()

    def _obs(self, pos):
        if self.one_hot:
            return jax.nn.one_hot(pos, N_CHAIN, dtype=jnp.float32)
        return pos

    def reset_env(self, key, params):
        state = ChainState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
        return self._obs(state.pos), state

    def step_env(self, key, state, action, params):
        pos = jnp.clip(state.pos + 2 * action - 1, 0, N_CHAIN - 1)
        terminated = pos == N_CHAIN - 1
        reward = jnp.asarray(CHAIN_R)[state.pos, action] + terminated
        new = ChainState(pos, state.time + 1)
        return self._obs(pos), new, reward, terminated, {}

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def observation_space(self, params):
        if self.one_hot:
            return spaces.Box(0.0, 1.0, (N_CHAIN,), jnp.float32)
        return spaces.Discrete(N_CHAIN)


def chain_value_iteration(gamma, sweeps=500):
    q = np.zeros((N_CHAIN, 2))
    for _ in range(sweeps):
        new = np.empty_like(q)
        for s in range(N_CHAIN):
            for a in range(2):
                s2 = min(max(s + 2 * a - 1, 0), N_CHAIN - 1)
                end = s2 == N_CHAIN - 1
                new[s, a] = CHAIN_R[s, a] + end + (0.0 if end else gamma * q[s2].max())
        q = new
    return q


@pytest.mark.parametrize("one_hot", [False, True], ids=["discrete_obs", "one_hot_obs"])
def test_chain_matches_value_iteration(one_hot):
    # ε = 1: uniformly random behaviour; Q-learning is off-policy, so it still learns Q*.
    config = TabularQConfig(env="Probe-OneStep", num_states=None if not one_hot else N_CHAIN,
                            num_envs=8, total_timesteps=8 * 1500, lr=0.5, gamma=0.9,
                            epsilon=1.0)
    q = np.asarray(train(config, env=Chain(one_hot))[0].q)
    expected = chain_value_iteration(0.9)
    # The terminal state is never acted in; every other pair is visited.
    np.testing.assert_allclose(q[:-1], expected[:-1], atol=1e-3)


# --- truncation ------------------------------------------------------------------------------


def test_truncation_bootstraps():
    gamma = 0.5
    config = TabularQConfig(env="Probe-Truncation", num_envs=2, total_timesteps=400, lr=0.5,
                            gamma=gamma, epsilon=0.5)
    final, metrics = train(config, env_params=envs.make("Probe-Truncation",
                                                        max_steps_in_episode=2)[1])
    # Bootstrapping through the time limit: Q = r / (1 - γ) = 2. Treating truncation as the
    # end of the episode would give 1 / (1 - γ/2) = 4/3 in this state.
    np.testing.assert_allclose(np.asarray(final.q)[1], [2.0, 2.0], atol=1e-4)  # obs 0 -> row 1
    np.testing.assert_allclose(np.nanmean(metrics["episode_return"]), 2.0)  # 2 steps × 1


# --- program contract ------------------------------------------------------------------------


def test_seeds_and_sweeps_by_vmap():
    """One vmap over (key, config) rows: same key and lr → identical; another key or another lr
    → different; a row equals the unbatched run."""
    config = TabularQConfig(env="Probe-ObsReward", num_envs=2, total_timesteps=40, lr=0.05,
                            epsilon=0.5)
    program = make_train(config)
    k0, k1 = jax.random.split(jax.random.key(3))
    keys = jnp.stack([k0, k1, k0, k0])
    configs = jax.vmap(lambda lr: config.replace(lr=lr))(jnp.array([0.05, 0.05, 0.05, 0.5]))
    final, metrics = jax.jit(jax.vmap(program))(keys, configs)
    assert set(metrics) >= {"env_steps", "episode_return", "loss", "epsilon"}
    assert metrics["loss"].shape == (4, program.num_updates)
    np.testing.assert_array_equal(metrics["env_steps"][0], 2.0 * np.arange(1, 21))
    q = np.asarray(final.q)
    np.testing.assert_array_equal(q[0], q[2])
    np.testing.assert_array_equal(metrics["loss"][0], metrics["loss"][2])
    assert not np.array_equal(q[0], q[1])  # another seed
    assert not np.allclose(q[0], q[3])  # same data stream, another step size
    np.testing.assert_allclose(jax.jit(program)(k0)[0].q, q[0], rtol=1e-6, atol=1e-7)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"lr": -0.1}, "lr"),
        ({"lr": 1.5}, "lr"),
        ({"num_envs": 0}, "num_envs"),
        ({"env": "NoSuchEnv-v0"}, "env"),
        ({"gamma": 1.5}, "gamma"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"num_states": 0}, "num_states"),
        ({"state_index": 3, "num_states": 2}, "state_index"),
        ({"state_index": lambda o: 0}, "num_states"),
        ({"num_envs": 3, "total_timesteps": 100}, "total_timesteps"),
    ],
)
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=rf"TabularQConfig\.{field}="):
        TabularQConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"env": "CartPole-v1"}, "state_index"),  # 4 floats: no automatic index
        ({"env": "Probe-OneStep", "num_states": 7}, "num_states"),  # the space has 3
        ({"env": "Probe-ActionReward-Continuous"}, "env"),  # continuous actions
    ],
)
def test_make_train_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=rf"TabularQConfig\.{field}="):
        make_train(TabularQConfig(**kwargs))


def test_batched_update_averages_duplicate_pairs_by_hand():
    from jaxrl.agents.tabular_q import q_learning_update

    q = jnp.array([[0.0, 1.0], [2.0, 0.0]])
    s = jnp.array([0, 0, 1])
    a = jnp.array([1, 1, 0])
    r = jnp.array([1.0, 3.0, -1.0])
    s_next = jnp.array([1, 1, 0])
    done = jnp.array([0.0, 1.0, 0.0])
    new, td = q_learning_update(q, s, a, r, s_next, done, 0.5, 0.9)
    # TD errors: 1 + 0.9*2 - 1 = 1.8; 3 - 1 = 2; -1 + 0.9*1 - 2 = -2.1
    np.testing.assert_allclose(td, [1.8, 2.0, -2.1], atol=1e-6)
    np.testing.assert_allclose(new, [[0.0, 1.0 + 0.5 * 1.9], [2.0 - 0.5 * 2.1, 0.0]], atol=1e-6)


def test_random_ties_pick_uniformly_among_maxima_only():
    from jaxrl.agents.tabular_q import greedy

    q = jnp.tile(jnp.array([1.0, 3.0, 3.0, 0.0]), (4000, 1))
    picks = np.asarray(greedy(jax.random.key(0), q, True))
    assert set(np.unique(picks)) == {1, 2}
    assert abs(np.mean(picks == 1) - 0.5) < 0.05  # 4000 draws: 6 standard deviations
    assert set(np.unique(np.asarray(greedy(jax.random.key(0), q, False)))) == {1}
