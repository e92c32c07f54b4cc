"""How the scalable MDPs move from task to task ("task evolution" in the reference code).

A task index ``k`` in ``[0, K)`` names a position in the task process; ``rooms[k]`` is the room
(goal) it uses. ``cycles``: rooms 0, 1, …, R−1, 0, … (K = R). ``random``: the next room is
uniform over all R (the current one included; K = R). ``curriculum``: 0; 0, 1; 0, 1, 2; …;
0, …, R−1, then again from the start (K = R(R+1)/2); the reference code's intent, without its
slip that repeats the previous room after the last block.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

ORDERS = ("cycles", "random", "curriculum")


def check_order(order: str) -> None:
    if order not in ORDERS:
        raise ValueError(f"order={order!r} is invalid: expected one of {', '.join(ORDERS)}")


def task_rooms(order: str, num_rooms: int) -> np.ndarray:
    """``rooms[k]``: the room of task position ``k``."""
    check_order(order)
    if order == "curriculum":
        return np.concatenate([np.arange(n) for n in range(1, num_rooms + 1)]).astype(np.int32)
    return np.arange(num_rooms, dtype=np.int32)


def next_task_matrix(order: str, num_rooms: int) -> np.ndarray:
    """``N[k, k']``: probability that task ``k`` is followed by ``k'``."""
    k = len(task_rooms(order, num_rooms))
    if order == "random":
        return np.full((k, k), 1.0 / k, np.float32)
    return np.roll(np.eye(k, dtype=np.float32), 1, axis=1)


def next_task(key, task, order: str, num_tasks: int):
    """Sample the task after ``task``."""
    if order == "random":
        return jax.random.randint(key, (), 0, num_tasks).astype(jnp.int32)
    return ((task + 1) % num_tasks).astype(jnp.int32)
