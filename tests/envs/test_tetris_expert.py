"""The scripted Tetris player: board features by hand, the placement it must choose on boards
with one right answer, played out frame by frame through the game, and whole games against the
random policy."""

import jax
import jax.numpy as jnp
import numpy as np

from envs.tetris import PIECES, Tetris, TetrisParams
from envs.tetris.expert import board_features, expert_action, expert_target

ENV = Tetris()
PARAMS = TetrisParams()


def state_with(name, board):
    state = ENV.reset(jax.random.key(0), PARAMS)[1]
    piece = jnp.int32(PIECES.index(name))
    col = jnp.int32(4 if name == "O" else 3)
    return state.replace(piece=piece, rotation=jnp.int32(0), row=jnp.int32(0), col=col,
                         board=jnp.asarray(board))


def test_board_features_by_hand():
    board = np.zeros((20, 10), bool)
    board[17:, 0] = True  # column 0: height 3
    board[18, 1] = True  # column 1: height 2 with a hole under it (row 19)
    board[19, 3] = True  # column 3: height 1
    heights = [3, 2, 0, 1] + [0] * 6
    bumpiness = 1 + 2 + 1 + 1  # |3-2| + |2-0| + |0-1| + |1-0|
    np.testing.assert_array_equal(board_features(jnp.asarray(board), 2),
                                  [sum(heights), 2, 1, bumpiness])


def play_piece(state, limit=200):
    """The expert's frames until its piece locks (the board changes); ``(state, reward)``."""
    step = jax.jit(ENV.step)
    board = np.asarray(state.board)
    for _ in range(limit):
        _, state, reward, _, _, _ = step(jax.random.key(1), state, expert_action(state), PARAMS)
        if not np.array_equal(np.asarray(state.board), board):
            return state, float(reward)
    raise AssertionError("the piece never locked")


def test_a_four_deep_well_takes_the_i_piece_upright():
    """Four full rows but for column 9: only the upright I in that column clears them (a
    tetris, 1200 points at level 0); the board is empty afterwards."""
    board = np.zeros((20, 10), bool)
    board[16:, :9] = True
    state = state_with("I", board)
    rotation, col = expert_target(state)
    assert (int(rotation), int(col)) == (1, 7)  # the upright I sits in column 2 of its box
    state, score = play_piece(state)
    assert score == 1200 and int(state.lines) == 4
    assert not np.asarray(state.board).any()


def test_the_o_piece_fills_the_two_wide_gap():
    board = np.zeros((20, 10), bool)
    board[18:, :] = True
    board[18:, 6:8] = False  # a 2×2 gap in columns 6..7
    state = state_with("O", board)
    assert (int(expert_target(state)[1])) == 6
    state, score = play_piece(state)
    assert score == 100 and not np.asarray(state.board).any()  # two rows at level 0


def test_whole_games_against_random_play():
    """2000 frames of 8 games: the expert clears dozens of lines and never tops out; uniform
    random actions clear next to none."""
    n, frames = 8, 2000
    _, start = jax.vmap(ENV.reset, in_axes=(0, None))(jax.random.split(jax.random.key(0), n),
                                                     PARAMS)

    def run(policy):
        def step(state, key):
            k_act, k_env = jax.random.split(key)
            action = policy(k_act, state)
            _, state, _, done, _, _ = jax.vmap(ENV.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_env, n), state, action, PARAMS)
            return state, done
        final, done = jax.lax.scan(step, start, jax.random.split(jax.random.key(1), frames))
        return final.lines, done.any(axis=0)

    lines, over = jax.jit(lambda: run(lambda k, s: jax.vmap(expert_action)(s)))()
    lines, over = np.asarray(lines), np.asarray(over)
    assert lines.min() >= 25 and not over.any(), (lines, over)
    random_lines, _ = jax.jit(lambda: run(lambda k, s: jax.random.randint(k, (n,), 0, 5)))()
    assert np.asarray(random_lines).max() <= 2, random_lines
