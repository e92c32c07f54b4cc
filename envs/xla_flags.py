"""XLA settings the framework needs on a CPU, applied when this module (the first that
``envs`` imports) is imported.

XLA's CPU runtime (jaxlib 0.10) deadlocked on some vmapped training programs: every worker
thread parked and the computation never finished. Seen with two seeds in one program of PPO
over a T-maze frame stack of κ ≥ 4, of FURTHER on iterated matching pennies, of SAC on brax
HalfCheetah and of pipelined PPO on MinAtar; one seed ran. The cause (a native stack of the
hung pipelined PPO): jaxlib's batched LAPACK kernels, here the QR of the orthogonal
initialisation under ``vmap``, split their batch over XLA's thread pool from a thread of that
pool and wait; with every pool thread in such a kernel nothing runs the pieces.
:func:`jaxrl.networks.orthogonal` no longer hands jaxlib a batched QR, and with it the T-maze
PPO program (3 of 3 runs) and FURTHER's iterated-matching-pennies smoke run with 4 seeds in
one program finish under XLA's default scheduler too.

Turning off XLA's concurrency-optimised CPU scheduler
(``--xla_cpu_enable_concurrency_optimized_scheduler=false``) runs fewer kernels at once, which
made the hang rare before that fix (T-maze PPO: three of three runs hung with the default
scheduler, none without it, while single-threaded Eigen did not help), though not impossible:
pipelined PPO still hung with it. The flag stays as a guard for the batched LAPACK calls that
remain (``jnp.linalg.solve``/``inv`` in ``jaxrl.games.memory_one``, ``jaxrl.mdp``, the
average-reward chain) at some cost in speed (PPO on CartPole: 92 k against 110 k steps/s).

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
