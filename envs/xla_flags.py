"""XLA settings the framework needs on a CPU, applied when this module (the first that
``envs`` imports) is imported.

XLA's CPU runtime (jaxlib 0.10) deadlocks on some vmapped training programs: every worker
thread parks and the computation never finishes. Seen with two seeds in one program of PPO
over a T-maze frame stack of κ ≥ 4, of FURTHER on iterated matching pennies, and of SAC on
brax HalfCheetah (temporal_skip's default brax run: no update in 5 minutes, against 2 min 15 s
for a whole run with the flag); one seed runs. All three run to completion with XLA's
concurrency-optimised CPU scheduler turned off
(``--xla_cpu_enable_concurrency_optimized_scheduler=false``; PPO: three of three runs hang
with the default, none without it), while single-threaded Eigen does not help.

XLA reads ``XLA_FLAGS`` once, when JAX first starts its backend, so the flag only takes
effect if ``envs`` (or ``jaxrl``, which imports it) is imported before the first JAX
computation. A value the user already put in ``XLA_FLAGS`` is kept.
"""

from __future__ import annotations

import os

CPU_SCHEDULER_FLAG = "xla_cpu_enable_concurrency_optimized_scheduler"


def disable_cpu_concurrency_scheduler(environ=os.environ) -> str:
    """Add ``--xla_cpu_enable_concurrency_optimized_scheduler=false`` to ``XLA_FLAGS`` unless
    it already sets that flag; return the resulting ``XLA_FLAGS``."""
    flags = environ.get("XLA_FLAGS", "")
    if CPU_SCHEDULER_FLAG not in flags:
        flags = f"{flags} --{CPU_SCHEDULER_FLAG}=false".strip()
        environ["XLA_FLAGS"] = flags
    return flags


disable_cpu_concurrency_scheduler()
