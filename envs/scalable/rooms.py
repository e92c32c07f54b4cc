"""What the multi-room environments share: ``num_rooms`` rooms of ``length``×``length`` cells
visited in a task ``order``, observations ``cell + room · cells``, four agent actions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from envs.core import Environment
from envs.scalable import grid, tasks


class RoomsEnv(Environment):
    """Base of :class:`NBottleneck` and :class:`NCycle` (validation, sizes, spaces, observe)."""

    def __init__(self, num_rooms: int, length: int, order: str):
        tasks.check_order(order)
        if int(num_rooms) < 1:
            raise ValueError(f"num_rooms={num_rooms!r} is invalid: expected an integer >= 1")
        if int(length) < 2:
            raise ValueError(f"length={length!r} is invalid: expected an integer >= 2")
        self.num_rooms, self.length, self.order = int(num_rooms), int(length), order
        self.rooms = tasks.task_rooms(order, self.num_rooms)
        self.num_tasks = len(self.rooms)

    @property
    def cells(self) -> int:
        return self.length * self.length

    @property
    def num_states(self) -> int:
        """Number of distinct observations (agent-visible states)."""
        return self.num_rooms * self.cells

    @property
    def num_actions(self) -> int:
        return grid.AGENT_ACTIONS

    def action_space(self, params=None):
        return spaces.Discrete(grid.AGENT_ACTIONS)

    def observation_space(self, params):
        return spaces.Discrete(self.num_states)

    def observe(self, state) -> jax.Array:
        return (state.cell + jnp.asarray(self.rooms)[state.task] * self.cells).astype(jnp.int32)
