"""NCycle (Riemer et al. 2022, §5; reference ``NCycleClass``): R rooms of a length×length grid,
each with its own goal. Reaching the goal gives reward 1 and restarts the agent in the same room
at a uniform cell sharing neither row nor column with the goal; the room changes (by ``order``)
every ``switch_every = 2·length^exponent`` steps, whatever the agent does: a polynomial
residence time. Continuing; the observation is ``cell + room·length²``.

``info["optimal_reward"]`` = 1 / Manhattan distance from where the current task began (the
restart cell, or the cell at the switch) to the current goal.

Exact model (``transition_model``): the deterministic timer makes the chain on (timer, task,
cell) periodic, which has no finite mixing time, so the analysis model replaces it by a
memoryless switch with probability ``1/switch_every`` per step (same mean residence time) over
internal states ``task·length² + cell``. This is our choice; the paper is silent.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.scalable import grid, tasks
from envs.scalable.bottleneck import random_goals
from envs.scalable.rooms import RoomsEnv


@struct.dataclass
class CycleState:
    cell: jax.Array
    task: jax.Array
    origin: jax.Array
    timer: jax.Array
    time: jax.Array


@struct.dataclass
class CycleParams:
    goals: jax.Array  # [num_rooms]
    switch_every: int = 10
    noise: float = 0.05


class NCycle(RoomsEnv):
    """``num_rooms`` rooms, switched every ``2·length^exponent`` steps in ``order``."""

    def __init__(self, num_rooms: int = 4, length: int = 5, order: str = "cycles",
                 exponent: int = 1):
        if exponent < 0:
            raise ValueError(f"exponent={exponent!r} is invalid: expected a number >= 0")
        super().__init__(num_rooms, length, order)
        self.exponent = exponent

    @property
    def name(self) -> str:
        return "NCycle-v0"

    def params_from_seed(self, seed: int, noise: float = 0.05) -> CycleParams:
        goals = random_goals(jax.random.key(seed), self.num_rooms, self.length)
        return CycleParams(goals, round(2 * self.length ** self.exponent), noise)

    @property
    def default_params(self) -> CycleParams:
        return self.params_from_seed(0)

    def reset_env(self, key, params):
        zero = jnp.zeros((), jnp.int32)
        cell = grid.sample_off_goal_lines(key, params.goals[self.rooms[0]], self.length)
        state = CycleState(cell=cell, task=zero, origin=cell, timer=zero, time=zero)
        return self.observe(state), state

    def step_env(self, key, state, action, params):
        k_noise, k_reset, k_task = jax.random.split(key, 3)
        rooms = jnp.asarray(self.rooms)
        goal = params.goals[rooms[state.task]]
        cell = grid.move(state.cell, grid.noisy_action(k_noise, action, params.noise),
                         self.length)
        hit = cell == goal
        cell = jnp.where(hit, grid.sample_off_goal_lines(k_reset, goal, self.length), cell)
        origin = jnp.where(hit, cell, state.origin)
        timer = state.timer + 1
        switch = timer >= params.switch_every
        task = jnp.where(switch, tasks.next_task(k_task, state.task, self.order, self.num_tasks),
                         state.task)
        new = CycleState(cell=cell, task=task, origin=jnp.where(switch, cell, origin),
                         timer=jnp.where(switch, 0, timer), time=state.time + 1)
        info = {"optimal_reward": grid.optimal_reward(new.origin, params.goals[rooms[task]],
                                                      self.length),
                "room": rooms[task]}
        return self.observe(new), new, hit.astype(jnp.float32), jnp.bool_(False), info

    def is_truncated(self, state, params):
        return jnp.bool_(False)

    # ---- analysis model (memoryless switching, see the module docstring) ------------------
    def observation_of_state(self) -> np.ndarray:
        cells = np.arange(self.cells)
        return (self.rooms[:, None] * self.cells + cells[None]).reshape(-1).astype(np.int32)

    def transition_model(self, params):
        """``(P[s, a, s'], r[s, a])`` over ``task·length² + cell``, switching with probability
        ``1/switch_every`` per step."""
        c = grid.cell_transitions(self.length, params.noise)[:, : grid.AGENT_ACTIONS]
        goal = params.goals[jnp.asarray(self.rooms)]  # [K]
        hit = jax.nn.one_hot(goal, self.cells)  # [K, cells]
        restart = jax.vmap(lambda g: grid.off_goal_lines(g, self.length))(goal)
        restart = restart / restart.sum(-1, keepdims=True)
        p_goal = jnp.einsum("cad,kd->kca", c, hit)  # [K, c, a]
        within = c[None] * (1.0 - hit[:, None, None, :]) + p_goal[..., None] * restart[:, None,
                                                                                    None, :]
        q = 1.0 / jnp.asarray(params.switch_every, jnp.float32)
        n_next = jnp.asarray(tasks.next_task_matrix(self.order, self.num_rooms))
        switch = (1.0 - q) * jnp.eye(self.num_tasks) + q * n_next  # [K, K']
        p = jnp.einsum("kcad,kj->kcajd", within, switch)
        n = self.num_tasks * self.cells
        return p.reshape(n, grid.AGENT_ACTIONS, n), p_goal.reshape(n, grid.AGENT_ACTIONS)

    def goal_seeking_policy(self, params) -> jax.Array:
        return jax.vmap(lambda g: grid.goal_seeking_actions(g, self.length))(
            params.goals).reshape(-1)
