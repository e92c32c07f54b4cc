"""NBottleneck (Riemer et al. 2022, §5; reference ``NBottleneckClass``): R rooms, each a copy of
a length×length grid with its own goal. Reaching the current room's goal gives reward 1 and
moves the agent to the next room (by ``order``, see ``envs.scalable.tasks``) at the same cell.
The problem is continuing: it never terminates. The observation is the integer
``cell + room·length²``.

``info["optimal_reward"]`` is the per-step reward of the paper's regret baseline,
1 / Manhattan distance from where the current task began (the previous goal, or the start
cell) to the current goal; ``envs.scalable.regret`` turns it into regret.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.scalable import grid, tasks
from envs.scalable.rooms import RoomsEnv


@struct.dataclass
class BottleneckState:
    cell: jax.Array
    task: jax.Array
    origin: jax.Array  # cell where the current task began
    time: jax.Array


@struct.dataclass
class BottleneckParams:
    goals: jax.Array  # [num_rooms] goal cell of each room
    noise: float = 0.05


def random_goals(key, num_rooms: int, length: int) -> jax.Array:
    """One uniform goal cell per room (rooms may share a goal cell, as in the reference)."""
    return jax.random.randint(key, (num_rooms,), 0, length * length).astype(jnp.int32)


class NBottleneck(RoomsEnv):
    """``num_rooms`` rooms of ``length``×``length`` visited in ``order``."""

    def __init__(self, num_rooms: int = 4, length: int = 5, order: str = "cycles"):
        super().__init__(num_rooms, length, order)

    @property
    def name(self) -> str:
        return "NBottleneck-v0"

    @property
    def default_params(self) -> BottleneckParams:
        return BottleneckParams(goals=random_goals(jax.random.key(0), self.num_rooms, self.length))

    def params_from_seed(self, seed: int, noise: float = 0.05) -> BottleneckParams:
        return BottleneckParams(random_goals(jax.random.key(seed), self.num_rooms, self.length),
                                noise)

    def reset_env(self, key, params):
        cell = jax.random.randint(key, (), 0, self.cells).astype(jnp.int32)
        zero = jnp.zeros((), jnp.int32)
        state = BottleneckState(cell=cell, task=zero, origin=cell, time=zero)
        return self.observe(state), state

    def step_env(self, key, state, action, params):
        k_noise, k_task = jax.random.split(key)
        cell = grid.move(state.cell, grid.noisy_action(k_noise, action, params.noise),
                         self.length)
        rooms = jnp.asarray(self.rooms)
        hit = cell == params.goals[rooms[state.task]]
        task = jnp.where(hit, tasks.next_task(k_task, state.task, self.order, self.num_tasks),
                         state.task)
        origin = jnp.where(hit, cell, state.origin)
        new = BottleneckState(cell=cell, task=task, origin=origin, time=state.time + 1)
        info = {"optimal_reward": grid.optimal_reward(origin, params.goals[rooms[task]],
                                                      self.length),
                "room": rooms[task]}
        return self.observe(new), new, hit.astype(jnp.float32), jnp.bool_(False), info

    def is_truncated(self, state, params):
        return jnp.bool_(False)

    # ---- exact model, for analysis -------------------------------------------------------
    def observation_of_state(self) -> np.ndarray:
        """Observation of each internal state ``task·length² + cell``."""
        cells = np.arange(self.cells)
        return (self.rooms[:, None] * self.cells + cells[None]).reshape(-1).astype(np.int32)

    def transition_model(self, params):
        """Exact ``(P[s, a, s'], r[s, a])`` over internal states ``task·length² + cell`` for the
        four agent actions (noise included; ``r`` is the expected reward)."""
        c = grid.cell_transitions(self.length, params.noise)[:, : grid.AGENT_ACTIONS]
        goal = params.goals[jnp.asarray(self.rooms)]  # [K]
        hit = jax.nn.one_hot(goal, self.cells) > 0  # [K, cells']
        n_next = jnp.asarray(tasks.next_task_matrix(self.order, self.num_rooms))
        eye = jnp.eye(self.num_tasks)
        # move[k, k', c'] = N[k, k'] if c' is task k's goal else δ(k, k')
        move = jnp.where(hit[:, None, :], n_next[:, :, None], eye[:, :, None])
        p = jnp.einsum("cad,kjd->kcajd", c, move)
        n = self.num_tasks * self.cells
        r = c[None, :, :, :] * hit[:, None, None, :]
        return p.reshape(n, grid.AGENT_ACTIONS, n), r.sum(-1).reshape(n, grid.AGENT_ACTIONS)

    def goal_seeking_policy(self, params) -> jax.Array:
        """Deterministic policy on observations: head for the room's goal (x first, then y)."""
        return jax.vmap(lambda g: grid.goal_seeking_actions(g, self.length))(
            params.goals).reshape(-1)
