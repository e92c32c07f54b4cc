"""A wall-clock realtime runner: the environment ticks at a fixed frame rate while inference
workers post actions to a shared slot (Riemer et al., ICLR 2025, §4–5 and Algorithm 1).

The main thread steps a :class:`~envs.realtime.host.HostEnv` at ``fps`` frames per second
(59.7275, the Game Boy's, by default) and never waits for the agent: at tick ``k`` it takes the
shared action slot (the latest posted action, then empties it), applies the env's
``noop_action`` if the slot was empty (an *idle* frame: inaction), steps one frame and publishes
the new observation, labelled ``k``. ``N`` worker threads each loop: read the newest observation,
run ``policy(params, obs, key) -> action``, pad the call to the inference time, post the action.

Modes (the wall-clock counterparts of :mod:`envs.realtime.schedulers`):

* ``sequential``: one worker that, after posting, waits until its action has been applied and
  reads the observation it produced ("think, act, think"). With inference time ``D`` frames a
  fresh action arrives every ``D + 1`` frames: inaction ``D / (D + 1)``.
* ``async``: ``N`` workers started together, each restarting as soon as it posts; their posts
  come in bursts and the slot keeps only the last of a burst.
* ``staggered`` (Algorithm 1, "max time"): worker ``i`` first sleeps ``i·τ_max/N``; every call is
  padded to ``τ_max`` (``imposed_seconds``, else the slowest warm-up call); a call that overruns
  sets ``τ_max`` to its time and the workers re-space themselves on the even grid anchored at the
  overrunning post, which is Algorithm 1's extra sleep ``dist(i→j)·δ/N`` after a single overrun
  (the same reading as ``schedulers.staggered_max``; see that module's docstring for why it
  re-anchors rather than adding the increments). With ``N ≥ D`` a fresh action is ready every frame.

Choices where the paper is silent: the workers' schedule starts half a frame after the first
tick, so evenly spaced posts land mid-frame, away from the instants the slot is read;
staggered workers keep their deadlines on absolute times (no drift from sleep latency), so a
call's time counts from its scheduled start (a worker the OS wakes later than ``τ_max`` minus
the call's compute time counts as an overrun); padding in ``sequential``/``async`` counts from
when the call read its observation. ``imposed_seconds`` stands for the inference time of a
larger model: each call sleeps out the rest of it.

Threads, not processes (the reference code uses ``torch.multiprocessing``): XLA releases the
GIL while a compiled computation runs, so threads calling a jitted policy overlap, share the
compiled executable and the parameters without copies, and can be stopped and joined from a
``finally`` block. The price is Python-level work under the GIL (dispatch, this loop), a few
tens of microseconds per call, small against a frame (16.7 ms).

Ending cleanly: a stop ``Event`` and a join with timeout in ``finally`` on every exit (completion,
an exception in a worker or in the policy, which is re-raised in the caller with the worker's
traceback, and ``KeyboardInterrupt`` or any error in the main loop). The workers are also daemon
threads, as a last resort only: a policy call stuck past the join timeout then cannot hang the
interpreter, and the runner warns that it abandoned it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

MODES = ("sequential", "async", "staggered")
GAME_BOY_FPS = 59.7275
THREAD_PREFIX = "realtime-worker"
_GRID_TOLERANCE = 1e-6  # seconds: a worker this close to its grid slot counts as on it
_POLL = 0.05  # seconds: how often a waiting worker checks the stop event


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a wall-clock run did, frame by frame.

    ``fresh[k]``: a posted action was applied at frame ``k`` (else the noop acted);
    ``staleness[k]``: frames between the tick whose observation that action was computed from
    and tick ``k`` (0 on idle frames; at least 1, and ``D + 1`` for an inference time of ``D``
    frames posted mid-frame); ``tick_times[k]`` and ``post_times`` (every posted action, in
    order): seconds since the first tick.
    """

    mode: str
    num_workers: int
    fps: float
    tau_max: float  # seconds: the final padding target (staggered) or the imposed time
    fresh: np.ndarray
    staleness: np.ndarray
    tick_times: np.ndarray
    post_times: np.ndarray
    total_reward: float
    episodes: int
    late_frames: int  # frames that started more than one frame period late
    wall_seconds: float

    @property
    def frames(self) -> int:
        return int(self.fresh.size)

    @property
    def _window(self) -> np.ndarray:
        """Frames from the first fresh one on (before it the first calls are in flight)."""
        first = np.argmax(self.fresh) if self.fresh.any() else self.fresh.size
        return np.arange(self.fresh.size) >= first

    @property
    def inaction(self) -> float:
        """Fraction of idle frames from the first fresh action on (1 if none ever came)."""
        if not self.fresh.any():
            return 1.0
        return float(1.0 - self.fresh[self._window].mean())

    @property
    def delay(self) -> float:
        """Mean staleness of the applied fresh actions, in frames (nan if none)."""
        return float(self.staleness[self.fresh].mean()) if self.fresh.any() else float("nan")

    @property
    def interval_ms(self) -> np.ndarray:
        """Wall-clock intervals between consecutive posted actions (all workers), in ms."""
        return np.diff(self.post_times) * 1e3

    @property
    def applied_interval_ms(self) -> np.ndarray:
        """Intervals between the ticks that applied consecutive fresh actions, in ms."""
        return np.diff(self.tick_times[self.fresh]) * 1e3

    def summary(self) -> dict[str, float]:
        def stats(x):
            return (float(x.mean()), float(x.std())) if x.size else (float("nan"),) * 2

        interval_mean, interval_std = stats(self.interval_ms)
        applied_mean, applied_std = stats(self.applied_interval_ms)
        return {
            "inaction": self.inaction, "delay_frames": self.delay,
            "interval_mean_ms": interval_mean, "interval_std_ms": interval_std,
            "applied_interval_mean_ms": applied_mean, "applied_interval_std_ms": applied_std,
            "posts": float(self.post_times.size), "frames": float(self.frames),
            "total_reward": self.total_reward, "late_frames": float(self.late_frames),
            "tau_max_ms": self.tau_max * 1e3, "wall_seconds": self.wall_seconds,
        }


def next_grid_start(finish: float, tau: float, anchor: float, dist: int, num_workers: int) -> float:
    """The start of a worker's next call so that, padded to ``tau``, it posts on its slot of the
    even grid ``anchor + (dist + m·N)·tau/N`` (``dist`` its circular distance from the anchor's
    worker), no earlier than ``finish + tau`` (it cannot start before its last post)."""
    target = anchor + dist * tau / num_workers
    late = (target - (finish + tau) + _GRID_TOLERANCE) % tau - _GRID_TOLERANCE
    return finish + max(late, 0.0)


class _Shared:
    """Everything the main loop and the workers share, behind one condition variable."""

    def __init__(self, num_workers: int, tau: float):
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.obs: Any = None
        self.obs_frame = -1
        self.slot: tuple | None = None  # (action, obs_frame, token)
        self.consumed: int | None = None  # token of the last applied action
        self.tokens = 0
        self.post_times: list[float] = []
        self.error: tuple[int, BaseException] | None = None
        self.num_workers = num_workers
        self.tau = tau
        self.anchor = 0.0
        self.anchor_worker = 0

    def read(self):
        with self.cond:
            return self.obs, self.obs_frame

    def post(self, action, obs_frame: int, now: float) -> int:
        with self.cond:
            self.tokens += 1
            self.slot = (action, obs_frame, self.tokens)
            self.post_times.append(now)
            return self.tokens

    def take(self):
        with self.cond:
            entry, self.slot = self.slot, None
            return entry

    def publish(self, obs, frame: int, consumed: int | None) -> None:
        with self.cond:
            self.obs, self.obs_frame = obs, frame
            if consumed is not None:
                self.consumed = consumed
            self.cond.notify_all()

    def wait_applied(self, token: int) -> bool:
        """Wait until action ``token`` has been applied and its observation published."""
        with self.cond:
            while self.consumed != token:
                if self.stop.is_set():
                    return False
                self.cond.wait(_POLL)
            return True

    def end_call(self, worker: int, start: float, elapsed: float) -> float:
        """Algorithm 1: the padded post time of a call; an overrun re-anchors the grid."""
        with self.cond:
            if elapsed > self.tau:
                self.tau = elapsed
                self.anchor, self.anchor_worker = start + elapsed, worker
            return start + self.tau

    def next_start(self, worker: int, finish: float) -> float:
        with self.cond:
            dist = (worker - self.anchor_worker) % self.num_workers
            return next_grid_start(finish, self.tau, self.anchor, dist, self.num_workers)

    def fail(self, worker: int, exc: BaseException) -> None:
        with self.cond:
            if self.error is None:
                self.error = (worker, exc)
            self.stop.set()
            self.cond.notify_all()


def _as_host_action(action):
    action = np.asarray(jax.device_get(action))
    return action.item() if action.ndim == 0 else action


def _worker(i: int, shared: _Shared, policy, params, key, mode: str, imposed: float | None,
            origin: float, clock) -> None:
    stop = shared.stop
    try:
        start = origin + (i * shared.tau / shared.num_workers if mode == "staggered" else 0.0)
        call = 0
        while True:
            if stop.wait(max(start - clock(), 0.0)):
                return
            obs, obs_frame = shared.read()
            read_at = clock()
            action = _as_host_action(policy(params, obs, jax.random.fold_in(key, call)))
            call += 1
            if mode == "staggered":
                post_at = shared.end_call(i, start, clock() - start)
            else:
                post_at = read_at + imposed if imposed is not None else clock()
            if stop.wait(max(post_at - clock(), 0.0)):
                return
            token = shared.post(action, obs_frame, clock())
            if mode == "staggered":
                start = shared.next_start(i, post_at)
            elif mode == "sequential":
                if not shared.wait_applied(token):
                    return
                start = clock()
            else:
                start = clock()
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the caller
        shared.fail(i, exc)


def _validate(mode, num_workers, num_frames, fps, imposed_seconds, join_timeout):
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is invalid: expected one of {MODES}")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError(f"num_workers={num_workers!r} is invalid: expected an integer >= 1")
    if mode == "sequential" and num_workers != 1:
        raise ValueError(f"num_workers={num_workers} is invalid for mode='sequential': "
                         "sequential interaction has exactly one worker")
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames={num_frames!r} is invalid: expected an integer >= 1")
    if not fps > 0:
        raise ValueError(f"fps={fps!r} is invalid: expected > 0")
    if imposed_seconds is not None and not imposed_seconds > 0:
        raise ValueError(f"imposed_seconds={imposed_seconds!r} is invalid: expected > 0 or None")
    if not join_timeout > 0:
        raise ValueError(f"join_timeout={join_timeout!r} is invalid: expected > 0")


def run(env, policy: Callable, params=None, *, mode: str = "staggered", num_workers: int = 1,
        num_frames: int = 600, fps: float = GAME_BOY_FPS, imposed_seconds: float | None = None,
        seed: int = 0, warmup_calls: int = 3, join_timeout: float = 5.0) -> RunResult:
    """Run ``env`` for ``num_frames`` frames in real time with ``num_workers`` inference workers.

    ``policy(params, obs, key) -> action`` (a jitted JAX function or any callable; worker ``i``'s
    ``c``-th call gets ``fold_in(fold_in(PRNGKey(seed), i), c)``). It is called ``warmup_calls``
    times on the reset observation before the clock starts (compilation); without
    ``imposed_seconds`` the slowest warm-up call is ``staggered``'s initial ``τ_max``.
    Raises the first worker exception (its traceback kept, a note naming the worker added).
    """
    _validate(mode, num_workers, num_frames, fps, imposed_seconds, join_timeout)
    clock = time.perf_counter
    key = jax.random.PRNGKey(seed)
    warm_key = jax.random.fold_in(jax.random.PRNGKey(seed), num_workers)
    obs = env.reset()
    slowest = 0.0
    for call in range(max(warmup_calls, 1)):
        began = clock()
        jax.block_until_ready(policy(params, obs, jax.random.fold_in(warm_key, call)))
        slowest = max(slowest, clock() - began) if call else slowest
    tau = imposed_seconds if imposed_seconds is not None else max(slowest, 1e-4)

    dt = 1.0 / fps
    shared = _Shared(num_workers, tau)
    shared.publish(obs, -1, None)
    fresh = np.zeros(num_frames, bool)
    staleness = np.zeros(num_frames, np.int64)
    tick_times = np.full(num_frames, np.nan)
    total_reward, episodes, late = 0.0, 0, 0
    t0 = clock() + 0.02  # threads are started before the first tick
    origin = t0 + dt / 2  # workers' schedule: mid-frame
    shared.anchor = origin + tau  # worker 0's first post
    workers = [
        threading.Thread(target=_worker, name=f"{THREAD_PREFIX}-{i}", daemon=True,
                         args=(i, shared, policy, params, jax.random.fold_in(key, i), mode,
                               imposed_seconds, origin, clock))
        for i in range(num_workers)
    ]
    try:
        for w in workers:
            w.start()
        for k in range(num_frames):
            if shared.stop.is_set():
                break
            tick = t0 + k * dt
            wait = tick - clock()
            if wait > 0:
                time.sleep(wait)
            now = clock()
            late += now - tick > dt
            tick_times[k] = now - t0
            entry = shared.take()
            if entry is None:
                action, token = env.noop_action, None
            else:
                action, obs_frame, token = entry
                fresh[k], staleness[k] = True, k - obs_frame
            obs, reward, done = env.step(action)
            total_reward += float(reward)
            episodes += bool(done)
            shared.publish(obs, k, token)
    finally:
        shared.stop.set()
        with shared.cond:
            shared.cond.notify_all()
        deadline = clock() + join_timeout + shared.tau
        for w in workers:
            if w.ident is not None:  # started
                w.join(max(deadline - clock(), 0.0))
        stuck = [w.name for w in workers if w.is_alive()]
        if stuck:
            warnings.warn(f"realtime workers {stuck} did not stop within {join_timeout} s "
                          "(a policy call still running); they are daemon threads and are "
                          "abandoned", RuntimeWarning, stacklevel=2)
    wall = clock() - t0
    if shared.error is not None:
        worker, exc = shared.error
        exc.add_note(f"raised in realtime inference worker {worker} ({THREAD_PREFIX}-{worker})")
        raise exc
    frames = int(np.sum(~np.isnan(tick_times)))
    post_times = np.asarray(shared.post_times) - t0
    return RunResult(
        mode=mode, num_workers=num_workers, fps=float(fps), tau_max=float(shared.tau),
        fresh=fresh[:frames], staleness=staleness[:frames], tick_times=tick_times[:frames],
        post_times=post_times, total_reward=total_reward, episodes=episodes, late_frames=late,
        wall_seconds=wall,
    )


def measure(imposed_frames: float, num_workers: int, *, mode: str = "staggered",
            seconds: float = 2.0, fps: float = GAME_BOY_FPS, env=None, policy=None, params=None,
            seed: int = 0) -> dict[str, float]:
    """Run the runner for ``seconds`` with inference padded to ``imposed_frames`` frames.

    Defaults: a :class:`~envs.realtime.host.FrameClock` and a jitted uniform-random policy.
    Returns :meth:`RunResult.summary` (``interval_std_ms``, ``interval_mean_ms``, ``inaction``,
    ...), for summary keys such as ``wallclock/interval_std_ms/<N>``.
    """
    from envs.realtime.host import FrameClock

    if not imposed_frames > 0:
        raise ValueError(f"imposed_frames={imposed_frames!r} is invalid: expected > 0")
    if not seconds > 0:
        raise ValueError(f"seconds={seconds!r} is invalid: expected > 0")
    env = FrameClock() if env is None else env
    if policy is None:
        n = env.num_actions

        @jax.jit
        def policy(params, obs, key):
            return jax.random.randint(key, (), 0, n)

    result = run(env, policy, params, mode=mode, num_workers=num_workers,
                 num_frames=max(round(seconds * fps), 1), fps=fps,
                 imposed_seconds=imposed_frames / fps, seed=seed)
    return result.summary()
