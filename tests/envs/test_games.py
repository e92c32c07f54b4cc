"""Iterated matrix games: FURTHER's payoff tables and observations, vmap over games,
the horizon under auto-reset, the registry, and rejection of invalid payoff arrays."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs import MultiAgentAutoReset
from envs.games import (
    GAMES,
    REGISTRY_NAMES,
    IteratedGame,
    bimatrix,
    make_game,
    swap_players,
)

# FURTHER's flat tables [AA, AB, BA, BB] per agent (gym_env/matrix/{ibs,ic,imp}_env.py).
FURTHER = {
    "bach_stravinsky": ([2, 0, 0, 1], [1, 0, 0, 2]),
    "coordination": ([4, 0, 0, 8], [4, 0, 0, 8]),
    "matching_pennies": ([1, -1, -1, 1], [-1, 1, 1, -1]),
}


@pytest.mark.parametrize("name", list(FURTHER))
def test_further_games_pay_and_observe_as_in_further(name):
    env, params = make_game(name)
    key = jax.random.PRNGKey(0)
    obs, state = env.reset(key, params)
    np.testing.assert_array_equal(obs["agent_0"], [1, 0, 0, 0, 0])  # FURTHER: one-hot(0, 5)
    for a0 in range(2):
        for a1 in range(2):
            acts = {"agent_0": jnp.int32(a0), "agent_1": jnp.int32(a1)}
            obs, _, rewards, dones, _ = env.step(key, state, acts, params)
            joint = 2 * a0 + a1  # FURTHER's _action_to_state
            assert float(rewards["agent_0"]) == FURTHER[name][0][joint]
            assert float(rewards["agent_1"]) == FURTHER[name][1][joint]
            for agent in env.agents:  # FURTHER's self.states[joint] = joint + 1, same for both
                np.testing.assert_array_equal(obs[agent], np.eye(5)[joint + 1])
            assert not bool(dones["__all__"])


def test_step_vmaps_over_games_with_the_payoffs_as_params():
    env, params = make_game("bach_stravinsky")
    names = ["bach_stravinsky", "coordination", "matching_pennies", "prisoners_dilemma"]
    stacked = params.replace(payoffs=jnp.stack([GAMES[n] for n in names]))
    _, state = env.reset(jax.random.PRNGKey(0), params)
    acts = {"agent_0": jnp.int32(1), "agent_1": jnp.int32(0)}  # joint action BA
    axes = stacked.replace(payoffs=0, max_steps_in_episode=None)  # vmap the payoffs only
    step = jax.vmap(env.step, in_axes=(None, None, None, axes))
    _, _, rewards, _, _ = step(jax.random.PRNGKey(0), state, acts, stacked)
    np.testing.assert_array_equal(rewards["agent_0"], [0, 0, -1, 5])
    np.testing.assert_array_equal(rewards["agent_1"], [0, 0, 1, 0])


def test_horizon_only_truncates_and_autoreset_returns_to_the_start_state():
    env, params = make_game("coordination", max_steps_in_episode=3)
    game = MultiAgentAutoReset(env)
    key = jax.random.PRNGKey(0)
    _, state = game.reset(key, params)
    acts = {"agent_0": jnp.int32(1), "agent_1": jnp.int32(1)}
    seen = []
    for _ in range(4):
        obs, state, rewards, dones, info = game.step(key, state, acts, params)
        seen.append((int(jnp.argmax(obs["agent_0"])), bool(dones["__all__"]),
                     bool(info["truncated"]), float(rewards["agent_1"])))
    assert seen == [(4, False, False, 8.0), (4, False, False, 8.0), (0, True, True, 8.0),
                    (4, False, False, 8.0)]


def test_three_action_game_spaces():
    env, params = make_game("rock_paper_scissors")
    assert env.num_actions == (3, 3) and env.num_states == 10
    assert env.action_space("agent_1").n == 3
    _, state = env.reset(jax.random.PRNGKey(0), params)
    acts = {"agent_0": jnp.int32(1), "agent_1": jnp.int32(2)}  # paper vs scissors
    obs, _, rewards, _, _ = env.step(jax.random.PRNGKey(0), state, acts, params)
    assert int(jnp.argmax(obs["agent_0"])) == 1 + 1 * 3 + 2
    assert obs["agent_0"].shape == env.observation_space("agent_0").shape
    assert (float(rewards["agent_0"]), float(rewards["agent_1"])) == (-1.0, 1.0)


def test_any_bimatrix_and_swapped_roles():
    row = np.arange(6.0).reshape(2, 3)
    env = IteratedGame(bimatrix(row, -2 * row))
    assert env.num_actions == (2, 3)
    swapped = swap_players(env.default_params.payoffs)
    np.testing.assert_array_equal(swapped[0], -2 * row.T)
    np.testing.assert_array_equal(swapped[1], row.T)


def test_registry_makes_every_named_game():
    for key, name in REGISTRY_NAMES.items():
        assert name in envs.registered()
        _, params = envs.make(name, max_steps_in_episode=7)
        assert params.max_steps_in_episode == 7
        np.testing.assert_array_equal(params.payoffs, GAMES[key])


@pytest.mark.parametrize("payoffs, match", [
    (np.zeros((2, 2)), r"shape \(2, 2\).*expected \(2, n, m\)"),
    (np.zeros((3, 2, 2)), r"shape \(3, 2, 2\)"),
    (np.array([[[1, 0], [0, np.nan]], [[1, 0], [0, 2]]]), r"finite: entry \[0, 1, 1\] is nan"),
])
def test_invalid_payoffs_are_rejected(payoffs, match):
    with pytest.raises(ValueError, match=match):
        IteratedGame(payoffs)


def test_invalid_payoffs_are_rejected_everywhere():
    with pytest.raises(ValueError, match="finite"):
        make_game("bach_stravinsky", payoffs=np.full((2, 2, 2), np.inf))
    with pytest.raises(ValueError, match="same shape"):
        bimatrix(np.zeros((2, 2)), np.zeros((2, 3)))
    env, params = make_game("bach_stravinsky")
    with pytest.raises(ValueError, match=r"params.payoffs has shape \(2, 3, 3\)"):
        env.check_params(params.replace(payoffs=np.zeros((2, 3, 3))))
    with pytest.raises(ValueError, match="unknown game 'bos'"):
        make_game("bos")
    with pytest.raises(ValueError, match="max_steps"):
        make_game("chicken", max_step=3)
