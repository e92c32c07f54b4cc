"""Memory-task throughput, side by side in one process (Adaptive Stacking's environments).

    python -m benchmarks.memory_envs [--quick] [--out FILE]

Environment steps/s with random actions, ``jit(scan(vmap(step)))`` after compilation, for:

* our passive T-maze (L = 50) bare, inside an adaptive stack κ=2 and a frame stack κ=50, each
  inside ``EpisodeStats(AutoReset(.))`` as agents see them;
* gymnax's MemoryChain (bsuite), raw (its ``step`` auto-resets): the nearest JAX memory task;
* a plain NumPy step loop of the same T-maze with a Python list as the stack, one environment
  at a time: what the reference code (Gymnasium + Stable-Baselines3 wrappers) does per step.

Every timing is the median of repeats; compile time is excluded. Writes a JSON file (default
``benchmarks/results/memory_envs.json``) and prints a table with the ratio to NumPy.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import gymnax
import jax
import numpy as np

import envs
from benchmarks.rl_throughput import _rollout_fn
from envs.memory import AdaptiveStack, TMaze, TMazeParams, frame_stack, is_cue
from experiments.harness.files import write_json
from experiments.harness.rundir import format_table

LENGTH = 50


def numpy_tmaze_steps_per_second(num_steps: int, num_stack: int, seed: int = 0) -> float:
    """Passive T-maze of length ``LENGTH`` in NumPy with an adaptive stack kept as a list."""
    rng = np.random.default_rng(seed)
    eye = np.eye(4, dtype=np.float32)

    def reset():
        goal = int(rng.integers(2))
        return goal, 1, [np.zeros(4, np.float32)] * (num_stack - 1) + [eye[2 + goal]]

    goal, column, stack = reset()
    total = 0.0
    t0 = time.perf_counter()
    for _ in range(num_steps):
        action = int(rng.integers(4 * num_stack))
        move, memory = action % 4, action // 4
        if column == LENGTH:  # junction: up/right -> up arm, else down arm
            arm = 0 if move in (0, 1) else 1
            total += 1.0 if arm == goal else -1.0
            stack.pop(memory)
            stack.append(eye[2 + arm])
            goal, column, stack = reset()
            continue
        column += 1
        stack.pop(memory)
        stack.append(eye[1] if column == LENGTH else eye[0])
        _ = np.stack(stack)  # the observation the agent receives
    return num_steps / (time.perf_counter() - t0)


def jax_steps_per_second(env, params, num_envs: int, num_steps: int, repeats: int) -> float:
    wrapped = envs.EpisodeStats(envs.AutoReset(env))
    run = _rollout_fn(wrapped.step, wrapped.reset, wrapped.action_space(params), params,
                      num_envs, num_steps)
    jax.block_until_ready(run(jax.random.key(0)))
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(run(jax.random.key(i + 1)))
        times.append(time.perf_counter() - t0)
    return num_envs * num_steps / statistics.median(times)


def gymnax_steps_per_second(num_envs: int, num_steps: int, repeats: int) -> float:
    env, params = gymnax.make("MemoryChain-bsuite")
    run = _rollout_fn(env.step, env.reset, env.action_space(params), params, num_envs,
                      num_steps)
    jax.block_until_ready(run(jax.random.key(0)))
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(run(jax.random.key(i + 1)))
        times.append(time.perf_counter() - t0)
    return num_envs * num_steps / statistics.median(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--out", default="benchmarks/results/memory_envs.json")
    args = parser.parse_args(argv)
    steps, repeats, numpy_steps = (200, 3, 20_000) if args.quick else (1000, 5, 200_000)
    params = TMazeParams(length=LENGTH)
    numpy_rate = statistics.median(numpy_tmaze_steps_per_second(numpy_steps, 2, seed)
                                   for seed in range(3))
    rows = [{"env": "numpy T-maze + list stack (1 env)", "envs": 1, "steps/s": numpy_rate,
             "vs numpy": 1.0}]
    subjects = {
        "T-maze": TMaze(),
        "T-maze + adaptive κ=2": AdaptiveStack(TMaze(), 2, "flat", relevant=is_cue),
        f"T-maze + frame κ={LENGTH}": frame_stack(TMaze(), LENGTH, relevant=is_cue),
    }
    for num_envs in (1, 64, 1024):
        for name, env in subjects.items():
            rate = jax_steps_per_second(env, params, num_envs, steps, repeats)
            rows.append({"env": name, "envs": num_envs, "steps/s": rate,
                         "vs numpy": rate / numpy_rate})
        rate = gymnax_steps_per_second(num_envs, steps, repeats)
        rows.append({"env": "gymnax MemoryChain (raw)", "envs": num_envs, "steps/s": rate,
                     "vs numpy": rate / numpy_rate})
    result = {"rows": rows, "machine": platform.processor() or platform.machine(),
              "devices": [str(d) for d in jax.devices()], "length": LENGTH,
              "steps": steps, "repeats": repeats, "quick": args.quick}
    write_json(args.out, result)
    print(format_table(rows))
    return result


if __name__ == "__main__":
    main()
