"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time


def interleaved_medians(fns, repeats: int) -> list[float]:
    """Median seconds per call of each of ``fns`` (blocking, already warmed up), timed in
    alternation (a, b, a, b, ...) so that a slow spell of a shared machine falls on all of them
    rather than on whichever ran during it."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]
