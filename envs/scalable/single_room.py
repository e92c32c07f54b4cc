"""The episodic single room (Riemer et al. 2022; reference ``ScaleClass``): one length×length
grid with a goal; an episode starts at a uniform cell sharing neither row nor column with the
goal and terminates with reward 1 on reaching it. The observation is the cell index.

``info["optimal_reward"]`` = 1 / Manhattan distance from the episode's start to the goal.
``transition_model`` is the continuing chain in which reaching the goal restarts the episode
(what an agent under ``AutoReset`` experiences), for analysis.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment
from envs.scalable import grid


@struct.dataclass
class RoomState:
    cell: jax.Array
    origin: jax.Array
    time: jax.Array


@struct.dataclass
class RoomParams:
    goal: jax.Array  # goal cell
    noise: float = 0.05


class SingleRoom(Environment):
    """One ``length``×``length`` room, episodic."""

    def __init__(self, length: int = 5):
        if int(length) < 2:
            raise ValueError(f"length={length!r} is invalid: expected an integer >= 2")
        self.length = int(length)

    @property
    def name(self) -> str:
        return "SingleRoom-v0"

    @property
    def num_states(self) -> int:
        return self.length * self.length

    @property
    def num_actions(self) -> int:
        return grid.AGENT_ACTIONS

    def params_from_seed(self, seed: int, noise: float = 0.05) -> RoomParams:
        goal = jax.random.randint(jax.random.key(seed), (), 0, self.num_states)
        return RoomParams(goal.astype(jnp.int32), noise)

    @property
    def default_params(self) -> RoomParams:
        return self.params_from_seed(0)

    def action_space(self, params=None):
        return spaces.Discrete(grid.AGENT_ACTIONS)

    def observation_space(self, params):
        return spaces.Discrete(self.num_states)

    def reset_env(self, key, params):
        cell = grid.sample_off_goal_lines(key, params.goal, self.length)
        return cell, RoomState(cell=cell, origin=cell, time=jnp.zeros((), jnp.int32))

    def step_env(self, key, state, action, params):
        cell = grid.move(state.cell, grid.noisy_action(key, action, params.noise), self.length)
        hit = cell == params.goal
        new = RoomState(cell=cell, origin=state.origin, time=state.time + 1)
        info = {"optimal_reward": grid.optimal_reward(state.origin, params.goal, self.length)}
        return cell, new, hit.astype(jnp.float32), hit, info

    def is_truncated(self, state, params):
        return jnp.bool_(False)

    def observation_of_state(self) -> np.ndarray:
        return np.arange(self.num_states, dtype=np.int32)

    def transition_model(self, params):
        """``(P[s, a, s'], r[s, a])`` of the restart-on-goal chain."""
        c = grid.cell_transitions(self.length, params.noise)[:, : grid.AGENT_ACTIONS]
        hit = jax.nn.one_hot(params.goal, self.num_states)
        restart = grid.off_goal_lines(params.goal, self.length)
        restart = restart / restart.sum()
        p_goal = c @ hit
        return c * (1.0 - hit) + p_goal[..., None] * restart, p_goal

    def goal_seeking_policy(self, params) -> jax.Array:
        return grid.goal_seeking_actions(params.goal, self.length)
