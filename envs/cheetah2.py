"""Two-agent HalfCheetah: brax's HalfCheetah with its six joints split between two agents.

A cooperative continuous game on brax physics for FURTHER's continuous-control domain (Kim et
al., NeurIPS 2022, report a two-agent HalfCheetah-style task; the split and rewards below are
choices, the paper fixes neither):

* ``agent_0`` drives the back leg (brax action indices 0–2: ``bthigh, bshin, bfoot``),
  ``agent_1`` the front leg (3–5: ``fthigh, fshin, ffoot``); each action lies in
  ``Box(-1, 1, (3,))`` and, as in :mod:`envs.brax_adapter`, is passed on unclipped;
* both agents observe brax's full 17-dimensional HalfCheetah observation (joint angles and
  velocities of both legs and the torso): the legs are coupled through the torso, so neither
  leg's own state is Markov;
* each agent is rewarded with the shared forward reward minus the control cost of its own
  joints: ``r_k = forward_reward_weight · x_velocity − ctrl_cost_weight · ‖a_k‖²``; the two
  control costs sum to brax's, so ``r_0 + r_1 − forward = `` brax's HalfCheetah reward.

The physics is brax's own ``halfcheetah`` pipeline (backend ``"generalized"``, as
:mod:`envs.brax_adapter`), stepped through :class:`envs.brax_adapter.BraxEnv`. Brax's
HalfCheetah never terminates; ``params.max_steps_in_episode`` truncates (``step`` does not
reset, as every :class:`envs.multi_agent.MultiAgentEnv`). ``info`` carries brax's metrics
(``x_velocity``, ``reward_run``, ``reward_ctrl``, ``x_position``).

Registered as ``envs.make("Cheetah2")`` when this module is imported (brax is imported only
when an environment is built); :func:`make_cheetah2` builds it directly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.multi_agent import MultiAgentEnv
from envs.registry import register, replace_params

AGENTS = ("agent_0", "agent_1")
JOINTS = {"agent_0": slice(0, 3), "agent_1": slice(3, 6)}  # back leg, front leg
REGISTRY_NAME = "Cheetah2"


@struct.dataclass
class Cheetah2Params:
    max_steps_in_episode: int = 1000


def split_rewards(forward_reward, actions: dict, ctrl_cost_weight) -> dict:
    """``{agent: forward_reward − ctrl_cost_weight · ‖actions[agent]‖²}``."""
    return {a: forward_reward - ctrl_cost_weight * jnp.sum(jnp.square(actions[a]))
            for a in AGENTS}


class Cheetah2(MultiAgentEnv):
    """Two agents, one HalfCheetah; ``brax_env`` is a :class:`envs.brax_adapter.BraxEnv` of
    brax's ``halfcheetah`` built with ``ctrl_cost_weight``."""

    def __init__(self, brax_env, ctrl_cost_weight: float):
        if brax_env.num_actions != 6:
            raise ValueError(f"Cheetah2 needs brax's 6-joint halfcheetah, got "
                             f"{brax_env.name} with {brax_env.num_actions} actions")
        self.agents = list(AGENTS)
        self._brax = brax_env
        self.ctrl_cost_weight = ctrl_cost_weight

    @property
    def brax_env(self):
        """The single-agent :class:`envs.brax_adapter.BraxEnv` this game steps."""
        return self._brax

    @property
    def default_params(self) -> Cheetah2Params:
        return Cheetah2Params()

    @property
    def name(self) -> str:
        return REGISTRY_NAME

    @property
    def obs_size(self) -> int:
        return self._brax.observation_space(None).shape[0]

    def action_size(self, agent: str) -> int:
        return JOINTS[agent].stop - JOINTS[agent].start

    def joint_action(self, actions: dict) -> jax.Array:
        """Brax's 6-dimensional action: the agents' actions concatenated, back leg first."""
        return jnp.concatenate([actions[a] for a in AGENTS], -1)

    def reset_env(self, key, params):
        obs, state = self._brax.reset_env(key, params)
        return {a: obs for a in AGENTS}, state

    def step_env(self, key, state, actions, params):
        obs, state, _, terminated, info = self._brax.step_env(
            key, state, self.joint_action(actions), params)
        rewards = split_rewards(info["reward_run"], actions, self.ctrl_cost_weight)
        return ({a: obs for a in AGENTS}, state, rewards, {a: terminated for a in AGENTS},
                info)

    def observation_space(self, agent, params=None):
        return spaces.Box(-jnp.inf, jnp.inf, (self.obs_size,), jnp.float32)

    def action_space(self, agent, params=None):
        return spaces.Box(-1.0, 1.0, (self.action_size(agent),), jnp.float32)


def make_cheetah2(backend: str | None = None, forward_reward_weight: float = 1.0,
                  ctrl_cost_weight: float = 0.1, reset_noise_scale: float = 0.1,
                  **params) -> tuple[Cheetah2, Cheetah2Params]:
    """``(env, params)``; the keyword arguments are brax HalfCheetah's (defaults = brax's),
    ``params`` set fields of :class:`Cheetah2Params` (``max_steps_in_episode``); an unknown
    one is a ``ValueError`` naming it, raised before brax builds anything."""
    from envs.brax_adapter import DEFAULT_BACKEND, make_brax

    unknown = sorted(set(params) - set(Cheetah2Params.__dataclass_fields__))
    if unknown:
        raise ValueError(f"environment {REGISTRY_NAME!r} has no parameter "
                         f"{', '.join(map(repr, unknown))}; its parameters are: "
                         "max_steps_in_episode, backend, forward_reward_weight, "
                         "ctrl_cost_weight, reset_noise_scale")
    params = replace_params(Cheetah2Params(), params, REGISTRY_NAME)
    brax_env, _ = make_brax("halfcheetah", backend=backend or DEFAULT_BACKEND,
                            forward_reward_weight=forward_reward_weight,
                            ctrl_cost_weight=ctrl_cost_weight,
                            reset_noise_scale=reset_noise_scale)
    return Cheetah2(brax_env, ctrl_cost_weight), params


register(REGISTRY_NAME, make_cheetah2)
