"""Hand-computed schedules of the realtime schedulers (Riemer et al., 2025, §4, Algorithm 1)."""

import jax
import numpy as np
import pytest

from envs.realtime import schedulers
from envs.realtime.schedulers import Scheduler

D = 8.0
FRAMES = 320  # one horizon for every test: one compilation per scheduler kind
_simulate = jax.jit(schedulers.simulate, static_argnums=1)


def run(kind, n, frames, d=D, jitter=0.0, seed=0):
    """The first ``frames`` frames of a ``FRAMES``-frame run."""
    sched = Scheduler(kind=kind, max_processes=8, num_processes=n, inference_frames=d,
                      jitter=jitter)
    out = _simulate(sched, FRAMES, jax.random.key(seed))
    return jax.tree.map(lambda x: np.asarray(x)[:frames], out)


def test_staggered_with_n_equal_d_posts_one_fresh_action_every_frame():
    out = run("staggered_max", 8, 40)
    # Process i reads o_i and posts at i + 8, then every 8 frames: from frame 8 on, every frame.
    np.testing.assert_array_equal(out.fresh, np.arange(40) >= 8)
    np.testing.assert_array_equal(out.arrivals, (np.arange(40) >= 8).astype(int))
    np.testing.assert_array_equal(out.staleness[8:], 8)
    stats = schedulers.statistics(out, burn_in=8)
    assert float(stats["inaction"]) == 0.0
    assert float(stats["interval_std"]) == 0.0 and float(stats["interval_mean"]) == 1.0


def test_unstaggered_processes_post_in_bursts():
    out = run("async", 8, 40)
    bursts = (np.arange(40) % 8 == 0) & (np.arange(40) > 0)
    np.testing.assert_array_equal(out.arrivals, np.where(bursts, 8, 0))
    np.testing.assert_array_equal(out.fresh, bursts)  # one slot: 8 posts act on one frame
    assert float(schedulers.statistics(out, burn_in=8)["inaction"]) == pytest.approx(7 / 8)


def test_sequential_acts_on_one_of_every_d_plus_one_frames():
    out = run("sequential", 8, 8 + 9 * 5)
    # Call k reads o_{9k}, posts at 9k + 8; the next call waits for o_{9k+9}.
    np.testing.assert_array_equal(np.flatnonzero(out.fresh), 8 + 9 * np.arange(5))
    np.testing.assert_array_equal(out.staleness[out.fresh], 8)
    np.testing.assert_array_equal(np.flatnonzero(out.reads), 9 * np.arange(6))
    stats = schedulers.statistics(out, burn_in=8)
    assert float(stats["inaction"]) == pytest.approx(8 / 9)
    assert float(stats["interval_mean"]) == 9.0


def test_too_few_staggered_processes_leave_regular_gaps():
    out = run("staggered_expected", 4, 8 + 8 * 4)
    # 4 processes spaced 2 frames apart: a fresh action on every other frame.
    np.testing.assert_array_equal(np.flatnonzero(out.fresh), np.arange(8, 40, 2))
    assert float(schedulers.statistics(out, burn_in=8)["inaction"]) == 0.5


def test_overrun_redistribution_restores_even_spacing():
    """Process 0's first call takes 10 frames instead of τ_max = 8 (δ = 2, N = 4).

    By hand: τ_max becomes 10, processes 1–3 (still computing) pad to 10 and post at 12, 14,
    16; process 0 posts again at 20; process j then owes j·δ/N = 0.5j extra frames, so they post
    at 22.5, 25, 27.5, 30, …: spacing τ_max/N = 2.5. Without the extra sleep the pattern would
    stay 2, 2, 2, 4.
    """
    sched = Scheduler(kind="staggered_max", max_processes=4, num_processes=4, inference_frames=D)
    state = schedulers.init(sched, jax.random.key(0))
    state = state.replace(compute_end=state.compute_end.at[0].set(10.0))

    def body(s, _):
        return schedulers.step(sched, s)

    state, out = jax.jit(lambda s: jax.lax.scan(body, s, None, length=60))(state)
    posts = np.asarray(out.post_time)[np.asarray(out.fresh)]
    np.testing.assert_allclose(posts[:5], [10.0, 12.0, 14.0, 16.0, 20.0])
    np.testing.assert_allclose(np.diff(posts[4:]), 2.5)
    assert float(state.tau_max) == 10.0


def spread(out, after=160.0):
    """max/min − 1 of the intervals between posts after ``after`` frames."""
    posts = np.asarray(out.post_time)[np.asarray(out.fresh)]
    gaps = np.diff(posts[posts > after])
    return gaps.max() / gaps.min() - 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jitter_staggered_max_keeps_posts_evenly_spaced(seed):
    """With jitter 0.3 the overruns die out and padding keeps the spacing even (measured
    spread ≤ 0.12 after frame 160); with Algorithm 1's increments ``dist·δ/N`` applied
    literally the spread stays 1.4–20, without any extra sleep 1.6–6.7, and the expected-time
    variant (no padding) drifts to 30+."""
    assert spread(run("staggered_max", 8, FRAMES, jitter=0.3, seed=seed)) < 0.25
    assert spread(run("staggered_expected", 8, FRAMES, jitter=0.3, seed=seed)) > 1.0


def test_vmapped_over_d_and_n():
    d = np.array([2.0, 4.0, 8.0])

    def inaction(d, n):
        sched = Scheduler(kind="staggered_max", max_processes=8, num_processes=n,
                          inference_frames=d)
        return schedulers.statistics(schedulers.simulate(sched, 48, jax.random.key(0)),
                                     burn_in=16)["inaction"]

    got = jax.jit(jax.vmap(inaction))(d, np.array([2, 2, 2]))
    # N staggered processes post N actions per D frames.
    np.testing.assert_allclose(got, [0.0, 0.5, 0.75])


@pytest.mark.parametrize("field, value", [("kind", "round_robin"), ("num_processes", 0),
                                          ("num_processes", 9), ("inference_frames", 0.5),
                                          ("jitter", 1.0), ("max_processes", 0)])
def test_bad_scheduler_fields_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        Scheduler(**{field: value})
