"""Part (2) of experiments.realtime_staggered: DQN in real time, on hand-checkable pieces."""

import math

import numpy as np
import pytest

from experiments import realtime_learning as rl


def test_frames_for_params_follows_the_gameboy_table():
    for params, frames in rl.GAMEBOY_FRAMES:
        assert rl.frames_for_params(params) == pytest.approx(frames)
    assert rl.frames_for_params(1e3) == 1.0
    sizes = np.logspace(4, 10, 25)
    assert np.all(np.diff([rl.frames_for_params(s) for s in sizes]) >= 0)


def test_schedulers_of_the_two_modes():
    seq, stag = rl.scheduler("sequential", 8), rl.scheduler("staggered", 8)
    assert (seq.kind, seq.num_processes) == ("sequential", 1)
    assert (stag.kind, stag.num_processes, stag.inference_frames) == ("staggered_max", 8, 8.0)
    with pytest.raises(ValueError, match="mode="):
        rl.scheduler("bursty", 8)


def test_final_return_is_the_last_quarter_mean_per_seed():
    returns = np.full((8, 2), np.nan)
    returns[0] = 100.0  # outside the last quarter
    returns[6, 0], returns[7, 0] = 1.0, 3.0
    out = rl.final_return({"episode_return": returns})
    assert out[0] == 2.0 and math.isnan(out[1])


def test_regret_split_by_hand():
    s = {"return/G/staggered/D1": 10.0, "return/G/sequential/D1": 6.0,
         "return/G/staggered/D4": 8.0, "return/G/sequential/D4": 1.0}
    r = rl.regret(s, "G", (1, 4))
    assert r["regret/G/staggered/D4/delay"] == 2.0
    assert r["regret/G/sequential/D4/inaction"] == 7.0
    assert r["regret/G/sequential/D1/inaction"] == 4.0
    assert r["regret/G/staggered/D1/delay"] == 0.0


def test_model_sizes_count_the_built_network():
    import equinox as eqx
    import jax

    from jaxrl.agents.dqn import QNetwork

    sizes = rl.model_sizes((4, 4, 1), (1, 2), 6)
    net = QNetwork((4, 4, 1), 6, "impala_cnn", (256,), jax.random.key(0), 2)
    built = sum(x.size for x in jax.tree.leaves(eqx.filter(net, eqx.is_array)))
    assert sizes[2][0] == built > sizes[1][0]
    assert sizes[2][1] == rl.frames_for_params(built)


def test_scripted_tetris_player_in_real_time():
    """Acting on one frame in D + 1 (sequential) leaves the piece to gravity: over 600 frames
    the fresh player clears lines, sequential at D = 64 (9 actions in all) clears none."""
    import jax

    key = jax.random.key(0)
    fresh = rl.scripted("Tetris", None, 1, 600, key, num_games=2)
    seq64 = rl.scripted("Tetris", "sequential", 64, 600, key, num_games=2)
    assert fresh >= 200 and seq64 == 0.0, (fresh, seq64)  # 200: five single lines
    # Staggered at D = 4 acts every frame on 4-frame-old states: the plain player repeats moves
    # already in flight and loses most of its score; looking ahead to the frame its action
    # lands on (the game is deterministic until a piece spawns) keeps most of it.
    plain = rl.scripted("Tetris", "staggered", 4, 600, key, num_games=2)
    ahead = rl.scripted("Tetris", "staggered", 4, 600, key, num_games=2, lookahead=True)
    assert plain <= 0.25 * fresh and ahead >= 0.75 * fresh, (fresh, plain, ahead)
    assert rl.demonstrations("Breakout-MinAtar", 1000) is None  # no scripted player
    assert rl.demonstrations("Tetris", 0) is None
    demos = jax.eval_shape(rl.demonstrations("Tetris", 1000), key)
    assert demos.obs.shape == (1000, 20, 10, 2) and demos.action.shape == (1000,)
