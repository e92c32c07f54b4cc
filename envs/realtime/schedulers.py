"""Inference schedulers of realtime RL (Riemer et al., ICLR 2025, §4 and Algorithm 1).

Time is measured in frames: frame ``t`` occupies ``[t, t + 1)``. At the start of frame ``t`` the
environment consumes the shared action slot (then empties it) and shows observation ``o_t``
for the rest of the frame. An inference that starts at time ``s`` reads ``o_floor(s)``, computes
for ``d`` frames, and posts its action at its finish time ``f``; the action is consumed at frame
``ceil(f)``. Its *staleness* is ``ceil(f) - floor(s)`` frames (the delay of the spec's regret
decomposition); a frame whose slot is empty is acted by the default action (inaction).

Schedulers (``kind``), for ``N`` processes with nominal inference time ``D`` frames:

* ``sequential``: one process; after its action is applied at frame ``t`` it waits for the
  observation that shows the consequence, ``o_{t+1}``, so it acts on 1 of every ``D + 1``
  frames (inaction ``D / (D + 1)``).
* ``async``: ``N`` processes started together, each restarting as soon as it posts: the actions
  arrive in bursts of ``N`` (the slot keeps one of them).
* ``staggered_max`` (Algorithm 1): process ``i`` first sleeps ``i·τ_max/N``; every call is padded
  to exactly ``τ_max`` (initially ``D``). A call that overruns ``τ_max`` by ``δ`` sets ``τ_max`` to
  its observed time, and the other processes sleep before their next call so that spacing
  ``τ_max/N`` is restored. Algorithm 1 states the sleep as ``dist(i→j)·δ/N`` (circular order
  distance). Our reading, which gives exactly that after a single overrun: the overrunning post
  becomes the *anchor* of the even grid ``anchor + (dist(i→j) + m·N)·τ_max/N``, and each
  process sleeps until its next padded call posts on its slot. Applied literally in this
  simulation (measured once while writing it; figures in the jitter test's docstring), the
  increment ``dist·δ/N`` leaves a permanent clump when overruns follow each other before the
  spacing has recovered (common with jitter); re-anchoring does not accumulate such errors.
* ``staggered_expected``: process ``i`` first sleeps ``i·D/N`` (``D`` the expected time) and
  then restarts as soon as it posts, without padding. The spec marks this variant's details as
  unverified: this is our reading.

Choices where the paper is silent: inference times are ``D·(1 + jitter·u)``, ``u ~ U(-1, 1)``
drawn per call and clipped to at least one frame (so a process posts at most once per frame and
staleness is at least 1); padding reads ``τ_max`` when the call's computation ends, as a
process that sleeps out the rest of ``τ_max`` would; several processes finishing in one frame
are handled in order of their computation end; the slot keeps the last-posted action.

The scheduler is an online, pure state machine (:func:`init`, :func:`step`) so the realtime
wrapper can run it frame by frame; :func:`simulate` scans it over a horizon and
:func:`statistics` summarises a run. ``num_processes`` and ``inference_frames`` are traced
values (they can be vmapped); ``max_processes`` (array size) and ``kind`` are static.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

KINDS = ("sequential", "async", "staggered_max", "staggered_expected")
_INF = jnp.inf
_GRID_TOLERANCE = 1e-3  # frames: a process this close to its slot counts as on it


@struct.dataclass
class Scheduler:
    """How inference is scheduled. ``kind`` and ``max_processes`` are static."""

    kind: str = struct.field(pytree_node=False, default="staggered_max")
    max_processes: int = struct.field(pytree_node=False, default=8)
    num_processes: int | jax.Array = 8
    inference_frames: float | jax.Array = 8.0
    jitter: float | jax.Array = 0.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Scheduler.kind={self.kind!r} is invalid: expected one of {KINDS}")
        if isinstance(self.max_processes, bool) or not isinstance(self.max_processes, int) \
                or self.max_processes < 1:
            raise ValueError(f"Scheduler.max_processes={self.max_processes!r} is invalid: "
                             "expected an integer >= 1")
        for name, low in (("num_processes", 1), ("inference_frames", 1.0)):
            value = getattr(self, name)
            if isinstance(value, (int, float)) and value < low:
                raise ValueError(f"Scheduler.{name}={value!r} is invalid: expected >= {low}")
        if isinstance(self.num_processes, int) and self.num_processes > self.max_processes:
            raise ValueError(f"Scheduler.num_processes={self.num_processes} is invalid: expected "
                             f"<= max_processes={self.max_processes}")
        if isinstance(self.jitter, (int, float)) and not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"Scheduler.jitter={self.jitter!r} is invalid: expected 0 <= jitter "
                             "< 1")

    def max_staleness(self, inference_frames: float) -> int:
        """A bound on staleness for nominal time ``inference_frames`` (sizes action buffers)."""
        return int(inference_frames * (1.0 + float(self.jitter))) + 3


@struct.dataclass
class SchedulerState:
    start: jax.Array  # (P,) start time of the current call (obs read at floor(start))
    compute_end: jax.Array  # (P,) when the computation ends (inf once ended, until posting)
    finish: jax.Array  # (P,) posting time (inf while computing)
    tau_max: jax.Array  # () the padding target of staggered_max
    anchor: jax.Array  # () staggered_max: a post time on the even grid (the last overrun's)
    anchor_process: jax.Array  # () the process that posted at ``anchor``
    frame: jax.Array  # () the next frame to run
    key: jax.Array


@struct.dataclass
class FrameOutput:
    fresh: jax.Array  # () bool: a posted action is consumed at this frame
    staleness: jax.Array  # () int: frames between its observation and this frame (0 if none)
    arrivals: jax.Array  # () int: actions posted for this frame (the slot keeps the last)
    reads: jax.Array  # () bool: some call reads this frame's observation
    post_time: jax.Array  # () float: when the kept action was posted (nan if none)


def _active(sched: Scheduler) -> jax.Array:
    n = 1 if sched.kind == "sequential" else sched.num_processes
    return jnp.arange(sched.max_processes) < n


def _duration(sched: Scheduler, key) -> jax.Array:
    u = jax.random.uniform(key, (sched.max_processes,), minval=-1.0, maxval=1.0)
    d = jnp.asarray(sched.inference_frames, jnp.float32) * (1.0 + sched.jitter * u)
    return jnp.maximum(d, 1.0)


def init(sched: Scheduler, key) -> SchedulerState:
    """Every process's first call; offsets follow ``kind``."""
    key, sub = jax.random.split(key)
    p = jnp.arange(sched.max_processes, dtype=jnp.float32)
    d_nominal = jnp.asarray(sched.inference_frames, jnp.float32)
    n = jnp.asarray(sched.num_processes, jnp.float32)
    if sched.kind in ("staggered_max", "staggered_expected"):
        start = p * d_nominal / n
    else:
        start = jnp.zeros_like(p)
    active = _active(sched)
    compute_end = jnp.where(active, start + _duration(sched, sub), _INF)
    return SchedulerState(
        start=start, compute_end=compute_end, finish=jnp.full_like(p, _INF),
        tau_max=d_nominal, anchor=d_nominal, anchor_process=jnp.zeros((), jnp.int32),
        frame=jnp.zeros((), jnp.int32), key=key,
    )


def _end_computation(sched: Scheduler, state: SchedulerState, i) -> SchedulerState:
    """Process ``i``'s computation ends: fix its posting time (padding, overrun redistribution)."""
    end = state.compute_end[i]
    if sched.kind == "staggered_max":
        elapsed = end - state.start[i]
        overrun = elapsed > state.tau_max
        finish = state.start[i] + jnp.maximum(elapsed, state.tau_max)
        state = state.replace(tau_max=jnp.maximum(state.tau_max, elapsed),
                              anchor=jnp.where(overrun, finish, state.anchor),
                              anchor_process=jnp.where(overrun, i, state.anchor_process))
    else:
        finish = end
    return state.replace(finish=state.finish.at[i].set(finish),
                         compute_end=state.compute_end.at[i].set(_INF))


def _redistribution_sleep(sched: Scheduler, state: SchedulerState) -> jax.Array:
    """Sleep before the next call so that it posts on process ``j``'s slot of the even grid
    ``anchor + ((j - anchor_process) mod N + m·N)·τ_max/N``, assuming it is padded to
    ``τ_max`` (Algorithm 1's ``dist·δ/N`` after a single overrun; see the module docstring)."""
    n = jnp.asarray(sched.num_processes)
    tau = state.tau_max
    dist = jnp.mod(jnp.arange(sched.max_processes) - state.anchor_process, n)
    target = state.anchor + dist.astype(jnp.float32) * tau / n
    late = jnp.mod(target - (state.finish + tau) + _GRID_TOLERANCE, tau) - _GRID_TOLERANCE
    return jnp.maximum(late, 0.0)


def step(sched: Scheduler, state: SchedulerState) -> tuple[SchedulerState, FrameOutput]:
    """Run frame ``state.frame``: computations ending by its start post, the slot is consumed."""
    t = state.frame
    tf = t.astype(jnp.float32)

    # Computations ending in (t-1, t], in time order (at most one per process per frame).
    state = jax.lax.while_loop(
        lambda s: jnp.min(s.compute_end) <= tf,
        lambda s: _end_computation(sched, s, jnp.argmin(s.compute_end)), state)

    # Posts consumed at frame t; the slot keeps the last one.
    posts = state.finish <= tf
    arrivals = jnp.sum(posts)
    last = jnp.argmax(jnp.where(posts, state.finish, -_INF))
    fresh = arrivals > 0
    post_time = jnp.where(fresh, state.finish[last], jnp.nan)
    staleness = jnp.where(fresh, t - jnp.floor(state.start[last]).astype(jnp.int32), 0)

    # Posting processes start their next call.
    key, sub = jax.random.split(state.key)
    if sched.kind == "sequential":
        next_start = jnp.full_like(state.start, tf + 1.0)  # wait for o_{t+1}
    elif sched.kind == "staggered_max":
        next_start = state.finish + _redistribution_sleep(sched, state)
    else:
        next_start = state.finish
    start = jnp.where(posts, next_start, state.start)
    compute_end = jnp.where(posts, start + _duration(sched, sub), state.compute_end)
    state = state.replace(
        start=start, compute_end=compute_end, finish=jnp.where(posts, _INF, state.finish),
        frame=t + 1, key=key,
    )
    reading = jnp.floor(state.start).astype(jnp.int32) == t
    in_flight = jnp.isfinite(state.compute_end) | jnp.isfinite(state.finish)
    reads = jnp.any(reading & in_flight & _active(sched))
    return state, FrameOutput(fresh=fresh, staleness=staleness, arrivals=arrivals, reads=reads,
                               post_time=post_time)


def simulate(sched: Scheduler, num_frames: int, key) -> FrameOutput:
    """The per-frame outputs of ``num_frames`` frames (stacked ``FrameOutput``)."""

    def body(state, _):
        return step(sched, state)

    _, out = jax.lax.scan(body, init(sched, key), None, length=num_frames)
    return out


def statistics(out: FrameOutput, burn_in=0, end=None) -> dict[str, jax.Array]:
    """Inaction and delay over frames ``burn_in <= t < end`` (``end`` defaults to the last
    frame; before ``burn_in`` the first calls are still in flight).

    ``inaction``: fraction of frames acted by default; ``delay``: mean staleness of fresh
    actions; ``interval_mean``/``interval_std``: frames between consecutive fresh actions;
    ``max_arrivals``: the largest burst of posts for one frame.
    """
    fresh = out.fresh
    t = jnp.arange(fresh.shape[-1])
    window = (t >= burn_in) & (t < (fresh.shape[-1] if end is None else end))
    counted = fresh & window
    n_fresh = jnp.sum(counted)
    inaction = jnp.sum(window & ~fresh) / jnp.maximum(jnp.sum(window), 1)
    delay = jnp.sum(jnp.where(counted, out.staleness, 0)) / jnp.maximum(n_fresh, 1)
    previous = jax.lax.cummax(jnp.where(fresh, t, -1))
    previous = jnp.concatenate([jnp.array([-1]), previous[:-1]])
    has_interval = counted & (previous >= burn_in)
    gap = (t - previous).astype(jnp.float32)
    n_gap = jnp.maximum(jnp.sum(has_interval), 1)
    interval_mean = jnp.sum(jnp.where(has_interval, gap, 0.0)) / n_gap
    interval_var = jnp.sum(jnp.where(has_interval, (gap - interval_mean) ** 2, 0.0)) / n_gap
    return {
        "inaction": inaction,
        "delay": jnp.where(n_fresh > 0, delay, jnp.nan),
        "interval_mean": interval_mean,
        "interval_std": jnp.sqrt(interval_var),
        "max_arrivals": jnp.max(jnp.where(window, out.arrivals, 0)),
    }
