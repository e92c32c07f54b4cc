"""Realtime RL with staggered asynchronous inference (Riemer et al., ICLR 2025): scheduler study.

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

NOT DONE YET: part (2), DQN learning on Tetris and MinAtar under the realtime wrapper, and
part (3), the wall-clock asynchronous runner; their summary keys (``return/…``,
``wallclock/…``) are not written.

summary.json: ``inaction/<scheduler>/D<D>`` (deterministic times),
``inaction_jitter/<scheduler>/D<D>``, ``delay/<scheduler>/D<D>``,
``interval_std_jitter/<scheduler>/D<D>``, ``processes_needed/D<D>`` and
``processes_needed_jitter/D<D>``, ``processes_needed_slope`` (deterministic; the paper's
``N = ceil(D)`` gives 1) and ``processes_needed_slope_jitter``. Plot: ``schedulers.png``.
Expected: staggered inaction 0 with ``N >= D``, sequential ``D/(D+1)``, unstaggered
``(D-1)/D`` (bursts), processes needed growing linearly in ``D``.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from envs.realtime import KINDS, Scheduler, schedulers
from experiments import harness

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
        for name in ("measure_periods", "seeds"):
            if getattr(self, name) < 1:
                raise ValueError(f"Config.{name}={getattr(self, name)} is invalid: expected an "
                                 "integer >= 1")


PRESETS = {
    "smoke": {"inference_frames": (1, 2, 4, 8), "seeds": 2, "measure_periods": 8},
    "default": {},
    "paper": {"inference_frames": (1, 5, 8, 70, 596), "seeds": 8},
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
    run.write_summary(summary)
    plot(run, config, summary)
    print(harness.format_table(rows))
    print(f"processes needed per frame of inference time: {summary['processes_needed_slope']:.3f}"
          f" (jitter {config.jitter}: {summary['processes_needed_slope_jitter']:.3f})")
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
