"""The wall-clock realtime runner (Riemer et al., ICLR 2025, Algorithm 1) and JaxHostEnv.

Shutdown tests run at 250 frames/s; the tests that measure schedules (marked slow: they read the
wall clock, so a busy machine can push a correct runner past their bounds; the schedules
themselves are tested as pure functions in test_realtime_schedulers.py) run at 100 frames/s for
about a second, so a post has half a frame (5 ms) of slack on either side. Their tolerances are
generous on purpose: on a loaded 2-core machine (measured while writing them: load average 6)
threads woke up to ~6 ms late, so a post could slip into the next frame and the staggered
inaction of a correct runner at 250 frames/s ranged from 0.03 to 0.4. The
bounds still separate the ideal values far apart (sequential ``D/(D+1) = 0.8`` vs staggered
``0``) and fail for the broken runners they guard against: one that never posts (inaction 1),
that does not pad calls (staleness 1, not ``D + 1``) or that does not stagger (inaction
``(D-1)/D``-like bursts).
"""

import threading
import traceback

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.realtime.host import FrameClock, HostEnv, JaxHostEnv
from envs.realtime.runner import THREAD_PREFIX, next_grid_start, run

FPS = 250.0  # shutdown tests
SCHEDULE_FPS = 100.0  # tests that measure a schedule
D = 4  # imposed inference time in frames


def runner_threads():
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


@jax.jit
def always_one(params, obs, key):
    return jnp.int32(1)


def test_completion_ends_cleanly_and_applies_posted_actions():
    env = FrameClock()
    result = run(env, always_one, mode="staggered", num_workers=3, num_frames=60, fps=FPS,
                 imposed_seconds=2 / FPS)
    assert runner_threads() == []
    assert result.frames == 60 and env.frame == 60
    assert result.fresh.any()
    # FrameClock pays 1 per non-noop action: the return counts exactly the fresh frames.
    assert result.total_reward == result.fresh.sum()
    assert (result.staleness[result.fresh] >= 1).all() and (result.staleness[~result.fresh] == 0).all()


def test_policy_exception_is_reraised_with_the_worker_traceback_and_no_orphans():
    def failing_policy(params, obs, key):
        if obs >= 10:
            raise ValueError("boom in the policy")
        return 1

    env = FrameClock()
    with pytest.raises(ValueError, match="boom in the policy") as excinfo:
        run(env, failing_policy, mode="staggered", num_workers=4, num_frames=10_000, fps=FPS,
            imposed_seconds=2 / FPS)
    assert runner_threads() == []
    assert env.frame < 1_000  # the run stopped early instead of playing all 10 000 frames
    assert any("worker" in note for note in excinfo.value.__notes__)
    frames = [f.name for f in traceback.extract_tb(excinfo.value.__traceback__)]
    assert "failing_policy" in frames and "_worker" in frames


class InterruptedClock(FrameClock):
    def step(self, action):
        if self.frame == 20:
            raise KeyboardInterrupt
        return super().step(action)


@pytest.mark.parametrize("mode,workers", [("sequential", 1), ("async", 3), ("staggered", 3)])
def test_keyboard_interrupt_in_the_main_loop_stops_the_workers(mode, workers):
    env = InterruptedClock()
    with pytest.raises(KeyboardInterrupt):
        run(env, always_one, mode=mode, num_workers=workers, num_frames=10_000, fps=FPS,
            imposed_seconds=D / FPS)
    assert runner_threads() == []
    assert env.frame == 20


@pytest.mark.slow
def test_staggered_with_n_equal_d_acts_every_frame_and_sequential_one_in_d_plus_one():
    fps = SCHEDULE_FPS
    kw = {"num_frames": 100, "fps": fps, "imposed_seconds": D / fps}
    staggered = run(FrameClock(), always_one, mode="staggered", num_workers=D, **kw)
    sequential = run(FrameClock(), always_one, mode="sequential", num_workers=1, **kw)
    assert runner_threads() == []
    # Ideal: staggered 0, sequential D/(D+1) = 0.8 (see the module docstring for tolerances).
    assert staggered.inaction < 0.3
    assert 0.6 < sequential.inaction < 0.95
    assert (1 - staggered.fresh).sum() < 0.5 * (1 - sequential.fresh).sum()
    # Algorithm 1's initial sleeps i·τ/N: the first D posts are one frame apart, not a burst.
    assert np.median(np.diff(staggered.post_times[:D])) * fps > 0.5
    # Sequential waits for its action's outcome: one post every D + 1 frames (not every D).
    assert D + 0.5 < np.median(np.diff(sequential.post_times)) * fps < D + 1.5
    # An inference of D frames posted mid-frame is applied D + 1 frames after its observation.
    assert np.median(staggered.staleness[staggered.fresh]) == D + 1
    assert np.median(sequential.staleness[sequential.fresh]) == D + 1


@pytest.mark.slow
def test_an_overrun_raises_tau_max_and_the_workers_respace():
    # Calls pad to D frames; one call (on frame 30's observation) takes 1.5·D frames.
    fps, frames, workers = SCHEDULE_FPS, 120, 8
    slow = 1.5 * D / fps
    done = threading.Event()

    def policy(params, obs, key):
        if obs >= 30 and not done.is_set():
            done.set()
            threading.Event().wait(slow)
        return 1

    result = run(FrameClock(), policy, mode="staggered", num_workers=workers, num_frames=frames,
                 fps=fps, imposed_seconds=D / fps)
    assert result.tau_max >= slow  # Algorithm 1: τ_max becomes the observed time
    late = result.post_times[result.post_times > 0.6 * frames / fps]
    # Respaced on the even grid τ_max/N (1.5·D/8 = 0.75 frames) after the overrun; without
    # the redistribution the old offsets (0.5 frames apart) stay.
    assert np.median(np.diff(late)) == pytest.approx(result.tau_max / workers, rel=0.25)


def test_a_stuck_policy_call_is_abandoned_with_a_warning():
    release = threading.Event()

    def stuck(params, obs, key):
        if obs >= 1:  # past the warm-up calls (on the reset observation, 0)
            release.wait(10.0)
        return 1

    with pytest.warns(RuntimeWarning, match="did not stop"):
        result = run(FrameClock(), stuck, mode="async", num_workers=1, num_frames=5, fps=FPS,
                     join_timeout=0.1)
    assert result.frames == 5  # the environment never waited for the stuck worker
    release.set()
    for thread in runner_threads():
        thread.join(5.0)
    assert runner_threads() == []


def test_next_grid_start_hand_computed():
    # No overrun: N=4, τ=4, worker 0 posted at 10; worker 2 (distance 2) posted at 12 on its
    # slot, so it starts its next call at once.
    assert next_grid_start(12.0, 4.0, 10.0, 2, 4) == pytest.approx(12.0)
    # Worker 1 overran by 0.5 (τ 4 → 4.5), posting at 15.5: the grid becomes 15.5 + k·1.125.
    # Workers 2, 3, 0 (distances 1, 2, 3) had posted at 16, 17, 18 on the old grid; their next
    # posts must fall on 21.125, 22.25, 23.375, so they start 4.5 earlier.
    for finish, dist, start in ((16.0, 1, 16.625), (17.0, 2, 17.75), (18.0, 3, 18.875),
                                (15.5, 0, 15.5)):
        assert next_grid_start(finish, 4.5, 15.5, dist, 4) == pytest.approx(start)


@pytest.mark.parametrize("kw,field", [
    ({"mode": "sometimes"}, "mode"), ({"mode": "sequential", "num_workers": 2}, "num_workers"),
    ({"num_workers": 0}, "num_workers"), ({"fps": 0.0}, "fps"),
    ({"imposed_seconds": -1.0}, "imposed_seconds"), ({"num_frames": 0}, "num_frames"),
])
def test_bad_arguments_name_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        run(FrameClock(), always_one, **kw)


def test_jax_host_env_matches_gymnax_autoreset_step():
    env, params = envs.make("CartPole-v1")
    host = JaxHostEnv(env, params, seed=3)
    assert isinstance(host, HostEnv) and host.num_actions == 2
    reference, ref_params = gymnax.make("CartPole-v1")  # gymnax's step resets by itself
    key = jax.random.PRNGKey(3)
    key, sub = jax.random.split(key)
    ref_obs, ref_state = reference.reset(sub, ref_params)
    np.testing.assert_allclose(host.reset(), ref_obs)
    actions = np.random.default_rng(0).integers(0, 2, 120)
    dones = 0
    for action in actions:
        key, sub = jax.random.split(key)
        ref_obs, ref_state, ref_reward, terminated, truncated, _ = reference.step(
            sub, ref_state, action, ref_params)
        obs, reward, done = host.step(action)
        np.testing.assert_allclose(obs, ref_obs, rtol=1e-6)
        assert reward == float(ref_reward) and done == bool(terminated | truncated)
        dones += done
    assert dones >= 2  # the comparison covered automatic resets


def test_runner_drives_a_jax_env_every_frame():
    env, params = envs.make("CartPole-v1")
    host = JaxHostEnv(env, params)

    @jax.jit
    def policy(params, obs, key):
        return jax.random.randint(key, (), 0, 2)

    result = run(host, policy, mode="staggered", num_workers=2, num_frames=40, fps=FPS,
                 imposed_seconds=2 / FPS)
    assert runner_threads() == []
    assert result.total_reward == 40.0  # CartPole pays 1 per step: every frame was stepped
