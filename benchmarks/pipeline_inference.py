"""Inference latency of one action: a sequential forward pass vs the parallel pipelined tick
(Anokhin et al., ICLR 2025, "parallel neuron computation"; the paper reports 6–350% faster
inference, growing with depth up to ~100 layers).

    python -m benchmarks.pipeline_inference [--depths 2,4,8,16,32,64,100] [--width 256]
        [--batches 1,256] [--repeats 50] [--out FILE]

Both paths use the same :class:`~jaxrl.pipeline.PipelineMLP` (plain variant, fixed width):
``forward(obs)`` runs the ``N`` layers one after the other; ``tick(state, obs)`` computes every
layer from last tick's activations, the ``N - 2`` same-width middle layers as one batched matmul.
Each call is jitted and compiled first; the figure is the median wall time of ``--repeats`` calls
(batch = observations per call, vmapped). speedup = sequential / pipelined. Writes JSON (default
``benchmarks/results/pipeline_inference.json``) and prints a table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import jax
import jax.numpy as jnp

from experiments.harness.files import write_json
from experiments.harness.rundir import format_table
from jaxrl.pipeline import PipelineMLP

OBS, OUT = 64, 8


def _median_seconds(fn, args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(depth: int, width: int, batch: int, repeats: int) -> dict:
    net = PipelineMLP(OBS, width, depth, OUT, jax.random.key(depth))
    obs = jax.random.normal(jax.random.key(0), (batch, OBS))
    state = jnp.broadcast_to(net.initial_state(), (batch, *net.initial_state().shape))
    state = state + 0.1  # non-zero activations
    sequential = jax.jit(jax.vmap(net.forward))
    pipelined = jax.jit(jax.vmap(net.tick))
    t_seq = _median_seconds(sequential, (obs,), repeats)
    t_pipe = _median_seconds(pipelined, (state, obs), repeats)
    return {"depth": depth, "width": width, "batch": batch, "sequential_ms": 1e3 * t_seq,
            "pipelined_ms": 1e3 * t_pipe, "speedup": t_seq / t_pipe}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_inference",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", default="2,4,8,16,32,64,100")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batches", default="1,256")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", default="benchmarks/results/pipeline_inference.json")
    args = parser.parse_args(argv)
    rows = [measure(d, args.width, b, args.repeats)
            for b in (int(x) for x in args.batches.split(","))
            for d in (int(x) for x in args.depths.split(","))]
    result = {"device": str(jax.devices()[0]), "platform": platform.platform(),
              "jax": jax.__version__, "repeats": args.repeats, "rows": rows,
              "speedup": {f"depth{r['depth']}/batch{r['batch']}": r["speedup"] for r in rows}}
    write_json(args.out, result)
    print(format_table(rows))
    print(f"written: {args.out}")
    return result


if __name__ == "__main__":
    main()
