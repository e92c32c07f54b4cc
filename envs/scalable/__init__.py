"""Scalable MDPs of Riemer et al. (2022), "Continual Learning In Environments With Polynomial
Mixing Times": NBottleneck, NCycle and the episodic single room, with exact transition models
and the paper's regret. Importing this package registers ``NBottleneck-v0``, ``NCycle-v0`` and
``SingleRoom-v0`` (overrides: constructor arguments, ``seed`` for the goals, or params fields).
"""

from envs.registry import register, replace_params
from envs.scalable import grid, tasks
from envs.scalable.bottleneck import BottleneckParams, BottleneckState, NBottleneck
from envs.scalable.cycle import CycleParams, CycleState, NCycle
from envs.scalable.regret import cumulative_regret, per_step_regret
from envs.scalable.single_room import RoomParams, RoomState, SingleRoom

SCALABLE = {"NBottleneck-v0": (NBottleneck, ("num_rooms", "length", "order")),
            "NCycle-v0": (NCycle, ("num_rooms", "length", "order", "exponent")),
            "SingleRoom-v0": (SingleRoom, ("length",))}


def _factory(cls, args):
    def make(seed: int = 0, **overrides):
        env = cls(**{k: overrides.pop(k) for k in args if k in overrides})
        return env, replace_params(env.params_from_seed(seed), overrides, env.name)

    return make


for _name, (_cls, _args) in SCALABLE.items():
    register(_name, _factory(_cls, _args))

__all__ = [
    "SCALABLE",
    "BottleneckParams",
    "BottleneckState",
    "CycleParams",
    "CycleState",
    "NBottleneck",
    "NCycle",
    "RoomParams",
    "RoomState",
    "SingleRoom",
    "cumulative_regret",
    "grid",
    "per_step_regret",
    "tasks",
]
