"""Opt-in: keep freed host memory in the process, so XLA:CPU's per-call buffers stop
page-faulting.

XLA's CPU runtime mallocs each compiled call's temporary buffer (1.5 GB for a hidden-512,
8-layer training step at batch 8 × 256) and frees it when the call ends. glibc serves blocks that
large with fresh mmap'd pages and returns them on free, so every call faults its whole working
set in again: on a 2-core CPU about 400 k page faults and 0.8 s of kernel time per step, a step
of 3.5 s. With one malloc arena (XLA's worker threads would otherwise get arenas of their own,
which mmap large blocks whatever the settings), no mmap'd blocks and no trimming of the heap's
top, freed blocks are reused: 2–60 k faults and 3.0–3.3 s per step. The process keeps its peak
heap until it exits, as PyTorch's caching allocators do.

Off by default: with one arena, threads that allocate at once (XLA compiling, torch) queue on
its lock. On the same CPU the PPO baseline's smoke preset took 15 s instead of 12 and
``pretrain_tiny``'s 25.4 s instead of 21.6 (26 times the context switches), so it pays only
where large compiled calls dominate. Set ``JAXRESEARCH_KEEP_HOST_MEMORY=1`` to turn it on: the
``experiments`` package applies it when imported, which under ``python -m experiments.<name>``
and ``python -m benchmarks.<name>`` comes first. glibc fixes its arena limit when a second arena
is made, so this must run before any other thread allocates (importing torch or transformers
starts threads; importing jax does not); once the process has other threads it does nothing.
Only glibc has these settings; elsewhere (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

ENV = "JAXRESEARCH_KEEP_HOST_MEMORY"
# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def keep_freed_host_memory() -> bool:
    """Set glibc's malloc to one arena, no mmap'd blocks and no trimming, if this process is
    still single-threaded on Linux; True when applied."""
    if not sys.platform.startswith("linux") or _thread_count() != 1:
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return all(mallopt(param, value) == 1 for param, value in
               ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1)))


def apply_from_environment() -> bool:
    """``keep_freed_host_memory()`` when ``JAXRESEARCH_KEEP_HOST_MEMORY=1``; else nothing."""
    value = os.environ.get(ENV, "0")
    if value not in ("0", "1"):
        raise ValueError(f"{ENV}={value!r}: expected 0 or 1")
    return value == "1" and keep_freed_host_memory()
