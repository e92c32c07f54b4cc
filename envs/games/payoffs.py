"""Payoff tensors of two-player (bi)matrix games, checked before anything is compiled.

A game with ``n`` actions for agent 0 (rows) and ``m`` for agent 1 (columns) is one float32
array ``payoffs`` of shape ``(2, n, m)``: ``payoffs[k, a0, a1]`` is agent ``k``'s reward when
agent 0 plays ``a0`` and agent 1 plays ``a1``. FURTHER's flat tables ``[AA, AB, BA, BB]`` are
row-major ``(2, 2)`` reshapes of these matrices.
"""

from __future__ import annotations

import jax
import numpy as np


def validate_payoffs(payoffs, name: str = "payoffs") -> np.ndarray:
    """``payoffs`` as a float32 ``(2, n, m)`` array; ``ValueError`` naming ``name`` otherwise.

    Tracers (inside ``jit``/``vmap``) pass through unchecked: there is nothing concrete to check.
    """
    if isinstance(payoffs, jax.core.Tracer):
        return payoffs
    array = np.asarray(payoffs, dtype=np.float32)
    if array.ndim != 3 or array.shape[0] != 2 or min(array.shape[1:]) < 1:
        raise ValueError(
            f"{name} has shape {array.shape}: expected (2, n, m), one (n, m) matrix per agent "
            "with n, m >= 1 actions"
        )
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0].tolist()
        raise ValueError(f"{name} must be finite: entry {bad} is {array[tuple(bad)]}")
    return array


def bimatrix(row, column) -> np.ndarray:
    """The ``(2, n, m)`` payoffs with agent 0's matrix ``row`` and agent 1's ``column``."""
    row = np.asarray(row, dtype=np.float32)
    column = np.asarray(column, dtype=np.float32)
    if row.ndim != 2 or row.shape != column.shape:
        raise ValueError(
            f"row payoffs {row.shape} and column payoffs {column.shape} must be matrices of the "
            "same shape (n, m)"
        )
    return validate_payoffs(np.stack([row, column]))


def zero_sum(row) -> np.ndarray:
    """The zero-sum game in which agent 1 receives the negation of ``row``."""
    row = np.asarray(row, dtype=np.float32)
    return bimatrix(row, -row)


def swap_players(payoffs):
    """The same game with the agents' roles exchanged: new agent 0 is old agent 1."""
    return payoffs[::-1].swapaxes(-1, -2)
