"""Iterated two-player matrix games as multi-agent environments (FURTHER's matrix domains).

Each step both agents act at once, each receives its entry of the payoff tensor
``params.payoffs[k, a0, a1]`` (see :mod:`envs.games.payoffs`). The payoffs are params, not
attributes, so one compiled step serves every game with the same action counts and
``jax.vmap`` sweeps over stacked payoff tensors.

Observation (as in FURTHER's ``gym_env/matrix/base.py``): a one-hot vector of length
``1 + n·m``, index 0 for the start state and ``1 + a0·m + a1`` for the previous joint action
(FURTHER's ``2·a0 + a1`` plus one). Both agents receive the same vector, as in FURTHER. The
game never terminates; ``max_steps_in_episode`` (FURTHER's horizon 150) only truncates, which
is there for logging: under :class:`envs.MultiAgentAutoReset` the observation returns to the
start state, exactly as FURTHER's trainer resets its environment.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.games.payoffs import validate_payoffs
from envs.multi_agent import MultiAgentEnv

AGENTS = ("agent_0", "agent_1")


@struct.dataclass
class GameState:
    state_index: jax.Array  # 0 = start, else 1 + a0·m + a1 of the previous joint action
    time: jax.Array


@struct.dataclass
class GameParams:
    payoffs: jax.Array  # (2, n, m)
    max_steps_in_episode: int = 150


def joint_index(a0, a1, num_actions_1: int):
    """The observation index ``1 + a0·m + a1`` of the joint action ``(a0, a1)``."""
    return 1 + a0 * num_actions_1 + a1


class IteratedGame(MultiAgentEnv):
    """An iterated ``n × m`` bimatrix game; ``payoffs`` fixes ``n, m`` and the default params."""

    def __init__(self, payoffs, name: str = "IteratedGame"):
        payoffs = validate_payoffs(payoffs)
        self.agents = list(AGENTS)
        self.num_actions = tuple(int(n) for n in payoffs.shape[1:])
        self._payoffs = payoffs
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def num_states(self) -> int:
        """Observation size: the start state and one state per joint action."""
        return 1 + self.num_actions[0] * self.num_actions[1]

    @property
    def default_params(self) -> GameParams:
        return GameParams(payoffs=jnp.asarray(self._payoffs))

    def check_params(self, params: GameParams) -> GameParams:
        """Raise ``ValueError`` unless ``params.payoffs`` is finite with this game's shape."""
        payoffs = validate_payoffs(params.payoffs, "params.payoffs")
        if not isinstance(payoffs, jax.core.Tracer) and payoffs.shape[1:] != self.num_actions:
            raise ValueError(
                f"params.payoffs has shape {payoffs.shape}: this game has "
                f"{self.num_actions} actions, so expected (2, {self.num_actions[0]}, "
                f"{self.num_actions[1]})"
            )
        return params

    def _obs(self, state: GameState) -> dict:
        one_hot = jax.nn.one_hot(state.state_index, self.num_states, dtype=jnp.float32)
        return {agent: one_hot for agent in self.agents}

    def reset_env(self, key, params):
        state = GameState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
        return self._obs(state), state

    def step_env(self, key, state, actions, params):
        a0 = jnp.asarray(actions[self.agents[0]], jnp.int32)
        a1 = jnp.asarray(actions[self.agents[1]], jnp.int32)
        payoffs = jnp.asarray(params.payoffs, jnp.float32)
        state = GameState(joint_index(a0, a1, self.num_actions[1]), state.time + 1)
        rewards = {agent: payoffs[k, a0, a1] for k, agent in enumerate(self.agents)}
        never = jnp.zeros((), bool)
        return self._obs(state), state, rewards, {a: never for a in self.agents}, {}

    def observation_space(self, agent, params=None):
        return spaces.Box(0.0, 1.0, (self.num_states,), jnp.float32)

    def action_space(self, agent, params=None):
        return spaces.Discrete(self.num_actions[self.agents.index(agent)])
