"""Tetris rules on scripted inputs: spawn, rotation against walls, gravity, line clears, game over."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.tetris import (
    LEFT,
    NOOP,
    PIECES,
    RIGHT,
    ROTATE,
    SOFT_DROP,
    Tetris,
    TetrisParams,
)
from envs.tetris.tetris import clear_lines

ENV = Tetris()
PARAMS = TetrisParams()
# Spawn cells (row, col) by hand, in the SRS spawn orientations.
SPAWN = {
    "I": {(1, 3), (1, 4), (1, 5), (1, 6)},
    "O": {(0, 4), (0, 5), (1, 4), (1, 5)},
    "T": {(0, 4), (1, 3), (1, 4), (1, 5)},
    "S": {(0, 4), (0, 5), (1, 3), (1, 4)},
    "Z": {(0, 3), (0, 4), (1, 4), (1, 5)},
    "J": {(0, 3), (1, 3), (1, 4), (1, 5)},
    "L": {(0, 5), (1, 3), (1, 4), (1, 5)},
}


def cells(obs, channel=1):
    return {tuple(int(v) for v in rc) for rc in np.argwhere(np.asarray(obs)[..., channel])}


_step = jax.jit(ENV.step)


def play(state, actions, params=PARAMS):
    """Step through ``actions``; returns the final obs, state and the per-step rewards/dones."""
    rewards, dones, obs = [], [], None
    for a in actions:
        obs, state, r, term, _, _ = _step(jax.random.key(0), state, a, params)
        rewards.append(float(r))
        dones.append(bool(term))
    return obs, state, rewards, dones


def with_piece(state, name, rotation=0, row=0, col=3, board=None):
    state = state.replace(piece=jnp.int32(PIECES.index(name)), rotation=jnp.int32(rotation),
                          row=jnp.int32(row), col=jnp.int32(col))
    return state if board is None else state.replace(board=jnp.asarray(board))


@pytest.fixture(scope="module")
def fresh():
    return ENV.reset(jax.random.key(0), PARAMS)[1]


def test_every_piece_spawns_at_the_top_centre():
    obs, state = jax.vmap(ENV.reset, in_axes=(0, None))(jax.random.split(jax.random.key(1), 64),
                                                        PARAMS)
    seen = set()
    for i in range(64):
        name = PIECES[int(state.piece[i])]
        seen.add(name)
        assert cells(obs[i]) == SPAWN[name]
        assert not np.asarray(obs[i])[..., 0].any()
    assert seen == set(PIECES)
    assert ENV.observation_space(PARAMS).shape == obs.shape[1:] == (20, 10, 2)


def test_rotation_against_the_walls_is_blocked(fresh):
    # I: rotate to vertical (column 5), push into the left wall, rotating back would leave the well.
    state = with_piece(fresh, "I")
    obs, state, _, _ = play(state, [ROTATE])
    assert cells(obs) == {(r, 5) for r in range(4)}
    obs, state, _, _ = play(state, [LEFT] * 7)  # five moves reach column 0, two are blocked
    assert cells(obs) == {(r, 0) for r in range(4)}
    obs, state, _, _ = play(state, [ROTATE])
    assert cells(obs) == {(r, 0) for r in range(4)}
    # The same at the right wall from the other vertical orientation (column 1 of the box).
    state = with_piece(fresh, "I", rotation=3, col=3)
    obs, state, _, _ = play(state, [RIGHT] * 6)
    assert cells(obs) == {(r, 9) for r in range(4)}
    obs, state, _, _ = play(state, [ROTATE])
    assert cells(obs) == {(r, 9) for r in range(4)}
    # Away from the walls the rotation happens: T turns clockwise about its centre.
    obs, _, _, _ = play(with_piece(fresh, "T"), [ROTATE])
    assert cells(obs) == {(0, 4), (1, 4), (1, 5), (2, 4)}


def test_gravity_follows_the_level_so_acting_late_matters(fresh):
    state = with_piece(fresh, "O", col=4)
    obs, _, _, _ = play(state, [NOOP] * 47)
    assert min(r for r, _ in cells(obs)) == 0
    obs, _, _, _ = play(state, [NOOP] * 48)  # level 0: one row every 48 frames
    assert min(r for r, _ in cells(obs)) == 1
    fast = PARAMS.replace(start_level=29)  # level 29: one row every frame
    obs, _, _, _ = play(state, [NOOP] * 5, fast)
    assert min(r for r, _ in cells(obs)) == 5


@pytest.mark.parametrize("level, score", [(0, 100), (5, 600)])
def test_line_clear_scores_by_level_and_rows_above_fall(fresh, level, score):
    board = np.zeros((20, 10), bool)
    board[18:, 1:] = True  # two rows full but for column 0
    board[17, 5] = True  # a cell above them, which must fall two rows
    board[16, 1:9] = True  # a third row that stays incomplete (column 9 open)
    state = with_piece(fresh, "I", rotation=1, col=-2, board=board)  # vertical in column 0
    _, state, rewards, dones = play(state, [SOFT_DROP] * 17, PARAMS.replace(start_level=level))
    # Drops 1..16 bring the I from rows 0..3 to 16..19; drop 17 cannot move, so it locks.
    assert rewards[16] == score and sum(rewards) == score
    expected = np.zeros((20, 10), bool)
    expected[18, :9] = True  # the old row 16 with the I's cell, two rows down
    expected[19, [0, 5]] = True  # the old row 17: the I's cell and the marker
    np.testing.assert_array_equal(np.asarray(state.board), expected)
    assert int(state.lines) == 2 and not any(dones)


def test_clear_lines_handles_separated_rows():
    board = np.zeros((20, 10), bool)
    board[19] = board[15] = True
    board[14, 2] = board[16, 3] = board[18, 4] = True
    got, n = clear_lines(jnp.asarray(board))
    expected = np.zeros((20, 10), bool)
    expected[16, 2] = expected[17, 3] = expected[19, 4] = True  # each down by full rows below
    assert int(n) == 2
    np.testing.assert_array_equal(np.asarray(got), expected)


def test_game_over_when_the_next_piece_cannot_spawn(fresh):
    board = np.zeros((20, 10), bool)
    board[2:, 4] = True  # a column reaching row 2 under the spawn area
    state = with_piece(fresh, "O", col=4, board=board)
    _, state, rewards, dones = play(state, [SOFT_DROP])  # locks at once in rows 0..1
    assert dones == [True] and rewards == [0.0]
    assert bool(state.game_over)


def test_registered_and_vmappable_under_autoreset():
    env, params = envs.make("Tetris", start_level=29)
    assert params.start_level == 29
    env = envs.AutoReset(env)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(jax.random.key(0), 2),
                                                        params)

    def body(state, key):
        # Only drops and rotations: pieces stay in columns 3..7, so no row can ever be full and
        # the stack must reach the top within 100 / 4 pieces of at most 20 frames each.
        actions = jnp.where(jax.random.bernoulli(key, 0.5, (2,)), SOFT_DROP, ROTATE)
        obs, state, r, term, _, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(key, 2), state, actions, params)
        return state, (r, term, obs)

    _, (r, term, obs) = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(
        jax.random.key(1), 500)))(state)
    assert np.asarray(term).any(axis=0).all()
    assert not np.asarray(r).any()
    assert not np.asarray(obs)[..., :3, 0].any() and not np.asarray(obs)[..., 8:, 0].any()
