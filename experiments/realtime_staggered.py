"""Realtime RL with staggered asynchronous inference (Riemer et al., ICLR 2025).

    python -m experiments.realtime_staggered --preset smoke|default|paper [--seeds N] [--out DIR]

Part (1), the scheduler study: for every scheduler of :mod:`envs.realtime.schedulers` and each
inference time ``D`` (frames), the inaction fraction, the mean delay (staleness of the actions
applied) and the spread of the intervals between fresh actions, with deterministic inference
times and with jitter (``D·(1 + jitter·u)``, ``u ~ U(-1, 1)``). Asynchronous schedulers use
``N = ceil(D)`` processes; sequential uses one. Then the number of ``staggered_max`` processes
needed for (near) zero inaction, at most ``inaction_tolerance``, at each ``D`` and its slope in
processes per frame of inference time.
Statistics are taken after a burn-in (the first calls and the overrun redistributions settle)
and averaged over seeds (which only matter with jitter).

Part (2), learning (:mod:`experiments.realtime_learning`): DQN on Tetris and MinAtar games in
real time for each ``D`` of ``learn_frames``, sequential vs staggered asynchronous, with the
noop and random baselines and the split of the realtime regret into delay and inaction; and a
scripted Tetris player (no learning regret) played through the same schedulers, acting on the
state it reads or on the state it predicts its action will land on.

Part (3), the wall-clock runner (:func:`envs.realtime.measure`): a game ticking at the Game
Boy's 59.7275 frames/s while ``N`` worker threads run a jitted policy padded to ``D`` frames of
inference, staggered with ``N = D`` and sequential, each for ``wallclock_seconds``; the actual
intervals between posted actions and the inaction measured on the clock.

summary.json: ``inaction/<scheduler>/D<D>`` (deterministic times),
``inaction_jitter/<scheduler>/D<D>``, ``delay/<scheduler>/D<D>``,
``interval_std_jitter/<scheduler>/D<D>``, ``processes_needed/D<D>`` and
``processes_needed_jitter/D<D>``, ``processes_needed_slope`` (deterministic; the paper's
``N = ceil(D)`` gives 1) and ``processes_needed_slope_jitter``;
``return/<env>/<mode>/D<D>`` (mode sequential or staggered), ``return/<env>/noop``,
``return/<env>/random`` and ``regret/<env>/<mode>/D<D>/{delay,inaction}``;
``scripted/Tetris/fresh``, ``scripted/Tetris/<mode>/D<D>`` and
``scripted_lookahead/Tetris/<mode>/D<D>`` (the scripted Tetris player's score in
``scripted_frames``-frame games: with no delay, in real time, and in real time acting on the
predicted state its action lands on);
``model/params/width<w>`` and
``model/frames/width<w>`` (IMPALA Q-network size per width and the paper's ``D`` for it);
``wallclock/interval_std_ms/<N>`` and
``wallclock/interval_mean_ms/<N>`` (staggered, ``N = D``), ``wallclock/inaction/<mode>/D<D>``
(mode staggered or sequential). Plots: ``schedulers.png``, ``learning.png``, ``scripted.png``.
Expected: staggered inaction 0 with ``N >= D``, sequential ``D/(D+1)``, unstaggered
``(D-1)/D`` (bursts), processes needed growing linearly in ``D``; sequential returns falling
toward the noop baseline as ``D`` grows while staggered returns degrade far less.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

import envs
from envs import realtime
from envs.realtime import KINDS, Scheduler, schedulers
from experiments import harness, realtime_learning

NAME = "realtime_staggered"


@dataclasses.dataclass(frozen=True)
class Config:
    """Scheduler study of realtime RL with staggered asynchronous inference."""

    preset: harness.Preset = "default"
    """smoke (< 1 min on CPU), default (2-core CPU), paper (the paper's delays up to 596)."""
    inference_frames: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    """Inference times D in frames."""
    jitter: float = 0.2
    """Relative half-width of the uniform jitter of inference times (0 <= jitter < 1)."""
    measure_periods: int = 16
    """Frames measured after the burn-in, in periods (D, or D + 1 for sequential)."""
    inaction_tolerance: float = 0.01
    """Inaction counted as none when counting processes needed. With jitter, each overrun of
    ``staggered_max`` leaves a transient in which an occasional frame is idle, so exactly zero
    is rarely reached under jitter; with exact times the count is the same for 0 and 0.01."""
    seeds: int = 4
    """Jitter seeds per setting (vmapped)."""
    learn_envs: tuple[str, ...] = ("Tetris", "Breakout-MinAtar", "SpaceInvaders-MinAtar")
    """Part (2): games DQN learns in real time (empty: skip part 2)."""
    learn_frames: tuple[int, ...] = (1, 4, 16, 64)
    """Part (2): inference times D in frames."""
    learn_steps: int = 50_000
    """Part (2): frames of training per run (all 8 parallel games together)."""
    learn_seeds: int = 2
    """Part (2): seeds per run (vmapped)."""
    network: str = "minatar_cnn"
    """Part (2): DQN torso: minatar_cnn, impala_cnn (the paper's) or mlp (vector games)."""
    width: int = 1
    """Part (2): impala_cnn channel multiplier (the paper's model-size knob)."""
    demo_frames: int = 0
    """Part (2): frames of a scripted player's games (Tetris) given to DQN as DQfD
    demonstrations (0: none; the paper pretrains its Tetris DQN on one human game)."""
    pretrain_updates: int = 16_000
    """Part (2): DQN gradient steps on the demonstrations before acting (the paper's 16 000)."""
    scripted_frames: int = 2000
    """Part (2): frames per game of the scripted Tetris player in real time (0: skip)."""
    wallclock_frames: tuple[int, ...] = (1, 2, 4, 8)
    """Part (3): imposed inference times D in frames of the wall-clock runner (empty: skip)."""
    wallclock_seconds: float = 3.0
    """Part (3): wall-clock seconds per measurement."""
    seed: int = 0
    """Base seed; seed i uses fold_in(key(seed), i)."""
    out: str | None = None
    """Output folder (default runs/realtime_staggered/<UTC timestamp>)."""

    def __post_init__(self):
        if not self.inference_frames or any(int(d) < 1 for d in self.inference_frames):
            raise ValueError(f"Config.inference_frames={self.inference_frames!r} is invalid: "
                             "expected integers >= 1")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"Config.jitter={self.jitter!r} is invalid: expected 0 <= jitter < 1")
        if not 0.0 <= self.inaction_tolerance < 1.0:
            raise ValueError(f"Config.inaction_tolerance={self.inaction_tolerance!r} is invalid: "
                             "expected 0 <= inaction_tolerance < 1")
        unknown = [e for e in self.learn_envs if e not in envs.registered()]
        if unknown:
            raise ValueError(f"Config.learn_envs has unknown environments {unknown}: expected "
                             f"names from envs.registered()")
        if not self.learn_frames or any(int(d) < 1 for d in self.learn_frames):
            raise ValueError(f"Config.learn_frames={self.learn_frames!r} is invalid: expected "
                             "integers >= 1")
        if self.network not in ("minatar_cnn", "impala_cnn", "mlp"):
            raise ValueError(f"Config.network={self.network!r} is invalid: expected "
                             "'minatar_cnn', 'impala_cnn' or 'mlp'")
        if self.learn_steps < 800 or self.learn_steps % 8:
            raise ValueError(f"Config.learn_steps={self.learn_steps} is invalid: expected a "
                             "multiple of 8 (parallel games), at least 800")
        if any(int(d) < 1 for d in self.wallclock_frames):
            raise ValueError(f"Config.wallclock_frames={self.wallclock_frames!r} is invalid: "
                             "expected integers >= 1")
        if not self.wallclock_seconds > 0:
            raise ValueError(f"Config.wallclock_seconds={self.wallclock_seconds!r} is invalid: "
                             "expected > 0")
        for name in ("demo_frames", "pretrain_updates", "scripted_frames"):
            if getattr(self, name) < 0:
                raise ValueError(f"Config.{name}={getattr(self, name)} is invalid: expected an "
                                 "integer >= 0")
        if 0 < self.demo_frames < 256:
            raise ValueError(f"Config.demo_frames={self.demo_frames} is invalid: expected 0 or "
                             "at least 256 (8 games, a batch of 32 transitions each)")
        for name in ("measure_periods", "seeds", "learn_seeds", "width"):
            if getattr(self, name) < 1:
                raise ValueError(f"Config.{name}={getattr(self, name)} is invalid: expected an "
                                 "integer >= 1")


PRESETS = {
    "smoke": {"inference_frames": (1, 2, 4, 8), "seeds": 2, "measure_periods": 8,
              "learn_envs": ("Breakout-MinAtar",), "learn_frames": (4,), "learn_steps": 1600,
              "learn_seeds": 1, "wallclock_frames": (2, 4), "wallclock_seconds": 1.0},
    "default": {},
    "paper": {"inference_frames": (1, 5, 8, 70, 596), "seeds": 8, "learn_steps": 2_000_000,
              "learn_seeds": 5, "learn_frames": (1, 5, 8, 16, 70), "demo_frames": 16_000},
}


def burn_in(d, jitter):
    """Frames before measuring: the first calls and the overrun redistributions settle."""
    return np.ceil(8 * np.asarray(d) * (1 + np.asarray(jitter))).astype(int) + 8


def study(kind: str, d, n, jitter, config: Config, keys) -> dict:
    """Statistics of settings ``(d[i], n[i], jitter[i])`` (vmapped), each over seeds (vmapped).

    One program for all settings: ``max_processes`` is the largest ``n`` and every setting runs
    the longest horizon; each is measured after its own burn-in over ``measure_periods`` whole
    periods (``D + 1`` frames for sequential, ``D`` otherwise).
    """
    d, n, jitter = (np.asarray(x).reshape(-1) for x in (d, n, jitter))
    start = burn_in(d, jitter)
    end = start + config.measure_periods * (d + 1 if kind == "sequential" else d)
    frames = int(np.max(end))
    max_n = int(np.max(n))

    def one(d, n, jitter, start, end, key):
        sched = Scheduler(kind=kind, max_processes=max_n, num_processes=n,
                          inference_frames=d, jitter=jitter)
        return schedulers.statistics(schedulers.simulate(sched, frames, key), start, end)

    over_seeds = jax.vmap(one, in_axes=(None, None, None, None, None, 0))
    run = jax.jit(jax.vmap(over_seeds, in_axes=(0, 0, 0, 0, 0, None)))
    stats = run(jnp.asarray(d, jnp.float32), jnp.asarray(n), jnp.asarray(jitter, jnp.float32),
                jnp.asarray(start), jnp.asarray(end), keys)
    return {k: np.asarray(v) for k, v in stats.items()}  # (settings, seeds)


def processes_needed(config: Config, keys) -> dict[str, dict[int, float]]:
    """Per D, exact (``""``) and jittered (``"_jitter"``): the fewest ``staggered_max``
    processes, searched from 1, whose inaction (mean over seeds) is at most
    ``inaction_tolerance``; NaN if none up to ``ceil(D) + 2`` (exact) or
    ``ceil(2·D·(1 + jitter)) + 2`` (jittered)."""
    top = {0.0: {d: d + 2 for d in config.inference_frames},
           config.jitter: {d: math.ceil(2 * d * (1 + config.jitter)) + 2
                           for d in config.inference_frames}}
    grid = [(d, n, j) for j in (0.0, config.jitter) for d in config.inference_frames
            for n in range(1, top[j][d] + 1)]
    d, n, jitter = np.array(grid).T
    d, n = d.astype(int), n.astype(int)
    inaction = study("staggered_max", d, n, jitter, config, keys)["inaction"]
    ok = inaction.mean(axis=1) <= config.inaction_tolerance
    out = {}
    for suffix, j in (("", 0.0), ("_jitter", config.jitter)):
        out[suffix] = {}
        for value in config.inference_frames:
            rows = np.flatnonzero((d == value) & (jitter == j) & ok)
            out[suffix][value] = float(n[rows].min()) if rows.size else float("nan")
    return out


def slope(d_values, needed) -> float:
    d, n = np.asarray(d_values, float), np.asarray(needed, float)
    ok = np.isfinite(n)
    return float(np.polyfit(d[ok], n[ok], 1)[0]) if ok.sum() >= 2 else float("nan")


def plot(run: harness.RunDir, config: Config, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = config.inference_frames
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for i, kind in enumerate(KINDS):
        color = f"C{i}"
        ax1.plot(ds, [summary[f"inaction/{kind}/D{d}"] for d in ds], "o-", color=color,
                 label=kind)
        ax1.plot(ds, [summary[f"inaction_jitter/{kind}/D{d}"] for d in ds], "x--", color=color)
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("inference time D (frames)")
    ax1.set_ylabel("inaction fraction")
    ax1.set_title(f"solid: exact D, dashed: jitter {config.jitter}")
    ax1.legend(fontsize=7)
    ax2.plot(ds, [summary[f"processes_needed/D{d}"] for d in ds], "o-", label="exact D")
    ax2.plot(ds, [summary[f"processes_needed_jitter/D{d}"] for d in ds], "x--",
             label=f"jitter {config.jitter}")
    ax2.set_xlabel("inference time D (frames)")
    ax2.set_ylabel(f"staggered processes for inaction <= {config.inaction_tolerance}")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    run.savefig(fig, "schedulers.png")
    plt.close(fig)


def wallclock(config: Config) -> tuple[dict, list]:
    """Part (3): the wall-clock runner, staggered with ``N = D`` and sequential, per ``D``."""
    summary, rows = {}, []
    for d in config.wallclock_frames:
        row = {"D": d}
        for mode, n in (("staggered", d), ("sequential", 1)):
            stats = realtime.measure(d, n, mode=mode, seconds=config.wallclock_seconds,
                                     seed=config.seed)
            summary[f"wallclock/inaction/{mode}/D{d}"] = stats["inaction"]
            row[f"inaction_{mode}"] = stats["inaction"]
            if mode == "staggered":
                summary[f"wallclock/interval_std_ms/{n}"] = stats["interval_std_ms"]
                summary[f"wallclock/interval_mean_ms/{n}"] = stats["interval_mean_ms"]
                row.update(N=n, interval_mean_ms=stats["interval_mean_ms"],
                           interval_std_ms=stats["interval_std_ms"])
        rows.append(row)
    return summary, rows


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: preset={config.preset} D={config.inference_frames} -> {run.path}")
    base = jax.random.key(config.seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(np.arange(config.seeds))

    summary, rows = {}, []
    ds = np.asarray(config.inference_frames)
    num = len(ds)
    for kind in KINDS:
        n = np.ones_like(ds) if kind == "sequential" else ds
        jitter = np.repeat([0.0, config.jitter], num)  # exact times, then jittered
        stats = study(kind, np.tile(ds, 2), np.tile(n, 2), jitter, config, keys)
        for i, d in enumerate(config.inference_frames):
            figures = {
                f"inaction/{kind}/D{d}": float(stats["inaction"][i].mean()),
                f"inaction_jitter/{kind}/D{d}": float(stats["inaction"][num + i].mean()),
                f"delay/{kind}/D{d}": float(stats["delay"][i].mean()),
                f"interval_std_jitter/{kind}/D{d}": float(stats["interval_std"][num + i].mean()),
            }
            summary.update(figures)
            rows.append({"scheduler": kind, "D": d, "N": int(n[i]),
                         **{k.split("/")[0]: v for k, v in figures.items()}})
        print(f"  {kind}: done", flush=True)
    for suffix, d_needed in processes_needed(config, keys).items():
        for d, value in d_needed.items():
            summary[f"processes_needed{suffix}/D{d}"] = value
    ds = config.inference_frames
    summary["processes_needed_slope"] = slope(ds, [summary[f"processes_needed/D{d}"] for d in ds])
    summary["processes_needed_slope_jitter"] = slope(
        ds, [summary[f"processes_needed_jitter/D{d}"] for d in ds])
    plot(run, config, summary)
    print(harness.format_table(rows))
    print(f"processes needed per frame of inference time: {summary['processes_needed_slope']:.3f}"
          f" (jitter {config.jitter}: {summary['processes_needed_slope_jitter']:.3f})")
    if config.learn_envs:
        print(f"part 2: DQN in real time on {config.learn_envs}, D={config.learn_frames}",
              flush=True)
        learn_keys = jax.vmap(lambda i: jax.random.fold_in(base, 1000 + i))(
            np.arange(config.learn_seeds))
        learned, learn_rows = realtime_learning.study(
            run, config.learn_envs, config.learn_frames, config.learn_steps, config.network,
            config.width, learn_keys, config.demo_frames, config.pretrain_updates,
            config.scripted_frames)
        summary.update(learned)
        realtime_learning.plot(run, config.learn_envs, config.learn_frames, summary)
        print(harness.format_table(learn_rows))
    if config.wallclock_frames:
        print(f"part 3: wall-clock runner at {realtime.GAME_BOY_FPS} frames/s, "
              f"D={config.wallclock_frames}", flush=True)
        clock, clock_rows = wallclock(config)
        summary.update(clock)
        print(harness.format_table(clock_rows))
    run.write_summary(summary)
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
