"""MiniGrid Memory (Chevalier-Boisvert et al., 2018) through xminigrid (Nikulin et al., 2024).

xminigrid's environments take ``(params, key)`` / ``(params, timestep, action)`` and keep the
whole step in a ``TimeStep``; this adapter exposes them under the project's contract:
``terminated`` is a last step with discount 0, ``truncated`` a last step with discount 1 (its
step limit). The observation is xminigrid's egocentric view ``[view, view, 2]`` (tile and
colour ids, uint8). Registered names: ``MiniGrid-MemoryS8`` … ``MiniGrid-MemoryS128``; overrides
set fields of xminigrid's ``EnvParams`` (e.g. ``max_steps``, ``view_size``).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from gymnax.environments import spaces

from envs.core import Environment, Transition

MEMORY_SIZES = (8, 16, 32, 64, 128)
LAST = 2


class XMiniGrid(Environment):
    """An xminigrid environment under the project's environment contract."""

    def __init__(self, name: str):
        import xminigrid

        self.env_name = name
        self._env, self._params = xminigrid.make(name)

    def __eq__(self, other):
        return isinstance(other, XMiniGrid) and other.env_name == self.env_name

    def __hash__(self):
        return hash((XMiniGrid, self.env_name))

    @property
    def default_params(self):
        return self._params

    @property
    def name(self) -> str:
        return self.env_name

    @property
    def num_actions(self) -> int:
        return int(self._env.num_actions(self._params))

    def reset_env(self, key, params):
        timestep = self._env.reset(params, key)
        return timestep.observation, timestep

    def transition(self, key, state, action, params) -> Transition:
        timestep = self._env.step(params, state, jnp.asarray(action, jnp.int32))
        last = timestep.step_type == LAST
        terminated = last & (timestep.discount == 0)
        truncated = last & ~terminated
        return (timestep.observation, timestep, timestep.reward.astype(jnp.float32), terminated,
                truncated, {})

    def action_space(self, params=None):
        return spaces.Discrete(self.num_actions)

    def observation_space(self, params):
        view = int(params.view_size)
        return spaces.Box(0, 255, (view, view, 2), jnp.uint8)


def make_minigrid_memory(size: int):
    """Registry factory for ``MiniGrid-MemoryS<size>``."""
    name = f"MiniGrid-MemoryS{size}"

    def factory(**overrides):
        env = XMiniGrid(name)
        params = env.default_params
        fields = {f.name for f in dataclasses.fields(params)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ValueError(f"environment {name!r} has no parameter "
                             f"{', '.join(map(repr, unknown))}; its parameters are: "
                             f"{', '.join(sorted(fields))}")
        return env, params.replace(**overrides)

    return name, factory
