"""Chunked training with a progress bar, checkpoints, resume and a NaN guard.

``train_seeds`` runs ``vmap(program)`` over seeds in chunks of updates (each chunk one compiled
``lax.scan``), so a long run shows progress, writes its learning curves and an orbax checkpoint
after every chunk, and continues from the newest checkpoint when the run folder already has one.
A non-finite loss stops the run with ``TrainingDiverged`` before the bad state is saved, so the
last good checkpoint survives.
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np
from tqdm import tqdm

from experiments.harness.checkpoint import Checkpointer
from experiments.harness.rundir import RunDir
from experiments.harness.timing import Timing
from jaxrl.parallel import shard_seeds
from jaxrl.program import TrainProgram


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite."""


def chunk_size(num_updates: int, target: int) -> int:
    """The divisor of ``num_updates`` nearest to ``target`` from below (one compiled chunk)."""
    target = max(1, min(target, num_updates))
    for d in range(target, 0, -1):
        if num_updates % d == 0 and d * 4 >= target:
            return d
    return target


def _check_finite(metrics: dict, tag: str, first_update: int) -> None:
    for k, v in metrics.items():
        if "loss" in k and not np.all(np.isfinite(v)):
            bad = int(np.argwhere(~np.isfinite(v))[0][0]) + first_update
            raise TrainingDiverged(
                f"run {tag!r}: {k} is not finite at update {bad}; stopped, the last good "
                "checkpoint is kept"
            )


def train_seeds(program: TrainProgram, keys: jax.Array, run: RunDir, tag: str,
                chunks: int = 20, configs=None, progress: bool = True):
    """Train ``len(keys)`` seeds of ``program``; return ``(final_state, metrics, timing)``.

    ``metrics`` maps each metric name to an array ``[num_updates, num_seeds]``. ``configs`` (a
    config stacked over seeds) sweeps hyperparameter leaves alongside the seeds.
    """
    n = program.num_updates
    size = chunk_size(n, -(-n // chunks))
    keys = shard_seeds(keys)
    if configs is None:
        state = jax.jit(jax.vmap(program.init))(keys)
    else:
        state = jax.jit(jax.vmap(program.init))(keys, shard_seeds(configs))
    ckpt = Checkpointer(run.path / "checkpoints" / tag)
    start = ckpt.latest_step() or 0
    if start:
        state = ckpt.restore(start, state)
    history = [run.metrics(tag, upto=start)] if start else []

    # Timing accumulates over interruptions: a resumed run reports the whole run's figures.
    timing = run.timing(tag) if start else Timing()
    compiled = {}
    bar = tqdm(total=n, initial=start, desc=tag, unit="upd", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    done = start
    try:
        while done < n:
            length = min(size, n - done)
            if length not in compiled:
                t0 = time.perf_counter()
                fn = jax.jit(jax.vmap(lambda s, length=length: program.run(s, length)))
                compiled[length] = fn.lower(state).compile()
                timing.compile_seconds += time.perf_counter() - t0
            t0 = time.perf_counter()
            state, metrics = compiled[length](state)
            metrics = jax.tree.map(lambda x: np.asarray(x, np.float64).swapaxes(0, 1), metrics)
            timing.run_seconds += time.perf_counter() - t0
            _check_finite(metrics, tag, done)
            run.log_metrics(tag, done, metrics)
            done += length
            timing.env_steps += length * program.steps_per_update * len(keys)
            run.write_timing(tag, timing)
            ckpt.save(done, state)
            history.append(metrics)
            ret = metrics.get("episode_return")
            if ret is not None and np.isfinite(ret[-1]).any():
                bar.set_postfix(ret=f"{np.nanmean(ret[-1]):.3g}")
            bar.update(length)
    finally:
        bar.close()
        ckpt.close()
    merged = {k: np.concatenate([h[k] for h in history if k in h and len(h[k])])
              for k in history[-1]} if history else {}
    return state, merged, timing
