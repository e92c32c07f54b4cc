"""The length×length grid shared by the scalable MDPs (Riemer et al. 2022, reference code's
``NBottleneckClass``/``NCycleClass``/``ScaleClass``).

Cells are numbered ``x + y·length``. Actions: 0 up (y−1), 1 down (y+1), 2 left (x−1),
3 right (x+1), 4 stay. A move into a wall reflects: the agent steps the opposite way (so the
grid needs ``length >= 2``). With probability ``noise`` the chosen action is replaced by one of
the five drawn uniformly (agents choose among the first four; "stay" only happens by noise).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

NUM_MOVES = 5  # up, down, left, right, stay
AGENT_ACTIONS = 4  # agents never choose "stay"
_DX = jnp.array([0, 0, -1, 1, 0], jnp.int32)
_DY = jnp.array([-1, 1, 0, 0, 0], jnp.int32)


def xy(cell, length: int):
    return cell % length, cell // length


def move(cell, action, length: int):
    """The cell after ``action`` from ``cell`` (walls reflect)."""
    x, y = xy(cell, length)
    nx, ny = x + _DX[action], y + _DY[action]
    nx = jnp.where((nx < 0) | (nx >= length), x - _DX[action], nx)
    ny = jnp.where((ny < 0) | (ny >= length), y - _DY[action], ny)
    return (nx + ny * length).astype(jnp.int32)


def noisy_action(key, action, noise):
    """``action``, replaced with probability ``noise`` by a uniform one of the five moves."""
    k_flip, k_act = jax.random.split(key)
    flip = jax.random.uniform(k_flip) < noise
    return jnp.where(flip, jax.random.randint(k_act, (), 0, NUM_MOVES), action).astype(jnp.int32)


def manhattan(a, b, length: int):
    ax, ay = xy(a, length)
    bx, by = xy(b, length)
    return jnp.abs(ax - bx) + jnp.abs(ay - by)


def optimal_reward(origin, goal, length: int):
    """Reward rate of the paper's regret baseline: 1 / Manhattan distance from where the task
    began to its goal (1 when they coincide)."""
    return 1.0 / jnp.maximum(manhattan(origin, goal, length), 1).astype(jnp.float32)


def cell_transitions(length: int, noise) -> jax.Array:
    """Exact ``P[cell, action, cell']`` for the five moves, action noise included."""
    n = length * length
    cells = jnp.arange(n)
    det = jax.vmap(lambda a: jax.nn.one_hot(move(cells, a, length), n))(jnp.arange(NUM_MOVES))
    det = jnp.transpose(det, (1, 0, 2))  # [cell, action, cell']
    return (1.0 - noise) * det + noise * det.mean(axis=1, keepdims=True)


def off_goal_lines(goal, length: int) -> jax.Array:
    """Mask of cells sharing neither row nor column with ``goal`` (where episodes restart)."""
    cells = jnp.arange(length * length)
    x, y = xy(cells, length)
    gx, gy = xy(goal, length)
    return (x != gx) & (y != gy)


def sample_off_goal_lines(key, goal, length: int):
    """A uniform cell sharing neither row nor column with ``goal`` (the reference's reset)."""
    mask = off_goal_lines(goal, length)
    return jax.random.choice(key, length * length, p=mask / mask.sum()).astype(jnp.int32)


def goal_seeking_actions(goal, length: int) -> jax.Array:
    """For every cell, the move toward ``goal``: along x first, then y; "up" on the goal."""
    cells = jnp.arange(length * length)
    x, y = xy(cells, length)
    gx, gy = xy(goal, length)
    along_y = jnp.where(y > gy, 0, 1)
    along_x = jnp.where(x > gx, 2, 3)
    return jnp.where(x != gx, along_x, jnp.where(y != gy, along_y, 0)).astype(jnp.int32)
