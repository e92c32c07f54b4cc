"""Run a pipelined network over a sequence of observations, one tick per observation."""

from __future__ import annotations

import jax


def unroll(net, state, observations, sequential: bool = False):
    """``(final state, outputs[T])`` of ``net.tick`` (or ``tick_sequential``) scanned over
    ``observations[T]`` from ``state``."""
    tick = net.tick_sequential if sequential else net.tick
    return jax.lax.scan(lambda s, o: tick(s, o), state, observations)
