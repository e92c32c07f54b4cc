"""Probe environments: tiny MDPs whose optimal values are known in closed form.

Each isolates one thing a learner must get right (after the probe environments of Andy Jones'
"Debugging RL, Without the Agonizing Pain"). Observations are float32 vectors of shape (1,).

| name | dynamics | known answer |
|---|---|---|
| Probe-OneStep | one step, reward 1 | V = 1 |
| Probe-TwoStep | obs 0 then obs 1, reward 0 then 1 | V(0) = γ, V(1) = 1 |
| Probe-ActionReward | one step, reward 1 for action 1, else 0 | Q(·,1) = 1, Q(·,0) = 0 |
| Probe-ObsReward | obs ±1 at random, one step, reward = obs | V(±1) = ±1 |
| Probe-ObsActionReward | obs ±1, reward 1 when action 1 ⇔ obs = +1 | π(obs) = 1[obs > 0] |
| Probe-ActionReward-Continuous | a ∈ [-1, 1], one step, reward −(a − 0.5)² | a* = 0.5, V* = 0 |
| Probe-ObsActionReward-Continuous | obs ±1, reward −(a − 0.5·obs)² | a*(obs) = 0.5·obs |
| Probe-Truncation | obs 0, reward 1 forever; only the time limit (``max_steps_in_episode``) ends episodes | V = 1/(1 − γ) when truncation bootstraps |
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment
from envs.registry import register


@struct.dataclass
class ProbeState:
    obs: jax.Array
    time: jax.Array


@struct.dataclass
class ProbeParams:
    max_steps_in_episode: int = 10


class Probe(Environment):
    """One class for every probe; ``kind`` selects the dynamics."""

    KINDS = ("one_step", "two_step", "action_reward", "obs_reward", "obs_action_reward",
             "truncation")

    def __init__(self, kind: str, continuous: bool = False, name: str | None = None):
        if kind not in self.KINDS:
            raise ValueError(f"unknown probe kind {kind!r}; expected one of {self.KINDS}")
        self.kind = kind
        self.continuous = continuous
        self._name = name or f"Probe-{kind}{'-continuous' if continuous else ''}"

    @property
    def default_params(self) -> ProbeParams:
        return ProbeParams()

    @property
    def name(self) -> str:
        return self._name

    @property
    def num_actions(self) -> int:
        return 1 if self.continuous else 2

    def action_space(self, params=None):
        if self.continuous:
            return spaces.Box(-1.0, 1.0, (1,), jnp.float32)
        return spaces.Discrete(2)

    def observation_space(self, params):
        return spaces.Box(-1.0, 1.0, (1,), jnp.float32)

    def _first_obs(self, key):
        if self.kind in ("obs_reward", "obs_action_reward"):
            return jnp.where(jax.random.bernoulli(key), 1.0, -1.0).reshape(1)
        return jnp.zeros((1,), jnp.float32)

    def reset_env(self, key, params):
        obs = self._first_obs(key).astype(jnp.float32)
        return obs, ProbeState(obs=obs, time=jnp.zeros((), jnp.int32))

    def step_env(self, key, state, action, params):
        time = state.time + 1
        o = state.obs[0]
        if self.continuous:
            a = jnp.clip(jnp.asarray(action, jnp.float32).reshape(-1)[0], -1.0, 1.0)
            target = 0.5 * o if self.kind == "obs_action_reward" else 0.5
            reward = -((a - target) ** 2)
        else:
            a = jnp.asarray(action).reshape(())
            reward = {
                "one_step": jnp.float32(1.0),
                "two_step": jnp.where(time >= 2, 1.0, 0.0),
                "action_reward": jnp.where(a == 1, 1.0, 0.0),
                "obs_reward": o,
                "obs_action_reward": jnp.where((a == 1) == (o > 0), 1.0, 0.0),
                "truncation": jnp.float32(1.0),
            }[self.kind]
        terminated = time >= (2 if self.kind == "two_step" else 1)
        if self.kind == "truncation":
            terminated = jnp.bool_(False)
        obs = jnp.where(self.kind == "two_step", jnp.ones((1,)), state.obs).astype(jnp.float32)
        new = ProbeState(obs=obs, time=time)
        return obs, new, jnp.asarray(reward, jnp.float32), terminated, {}


_NAMES = {
    "Probe-OneStep": ("one_step", False),
    "Probe-TwoStep": ("two_step", False),
    "Probe-ActionReward": ("action_reward", False),
    "Probe-ObsReward": ("obs_reward", False),
    "Probe-ObsActionReward": ("obs_action_reward", False),
    "Probe-ActionReward-Continuous": ("action_reward", True),
    "Probe-ObsActionReward-Continuous": ("obs_action_reward", True),
    "Probe-Truncation": ("truncation", False),
}


def _factory(name: str, kind: str, continuous: bool):
    def make(**overrides):
        from envs.registry import replace_params

        env = Probe(kind, continuous, name)
        return env, replace_params(env.default_params, overrides, env.name)

    return make


PROBES = tuple(_NAMES)
for _name, (_kind, _cont) in _NAMES.items():
    register(_name, _factory(_name, _kind, _cont))
