"""POPGym's Concentration (Morad et al., 2023): flip two face-down cards; a matching pair stays up.

``n = 52 × num_decks`` cards lie face down; each has a value (its colour, 2 values, or its rank,
13 values). An action flips card ``i``. The observation shows every face-up card and the cards
in play as one-hot values, face-down cards as the extra code ``num_values`` (shape
``[n, num_values + 1]``). Rewards as POPGym: ``1 / (n / 2)`` for a matching pair of two
different cards (they stay face up; all face up ends the episode), ``−2 / L`` for a pair that
does not match, ``−k / L`` when the flip touches a card already face up (k = cards in play,
which are turned back); ``L = ⌈2n − n / (2n − 1)⌉`` steps, after which the episode is
truncated. Easy / medium / hard: 1 deck of colours, 2 decks of colours, 1 deck of ranks.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment, Transition

DECK_TYPES = {"colors": 2, "ranks": 13}
LEVELS = {"easy": (1, "colors"), "medium": (2, "colors"), "hard": (1, "ranks")}


@struct.dataclass
class ConcentrationState:
    values: jax.Array  # (n,) the value of each card
    face_up: jax.Array  # (n,) bool
    first: jax.Array  # the card flipped first in this turn, −1 when none
    time: jax.Array


@struct.dataclass
class ConcentrationParams:
    max_steps_in_episode: int = 1_000_000  # the POPGym limit L is the environment's own


class Concentration(Environment):
    """Memory game: remember where the values lie to flip matching pairs."""

    def __init__(self, num_decks: int = 1, deck_type: str = "colors"):
        if not isinstance(num_decks, int) or num_decks < 1:
            raise ValueError(f"num_decks must be an integer >= 1, got {num_decks!r}")
        if deck_type not in DECK_TYPES:
            raise ValueError(f"deck_type must be one of {tuple(DECK_TYPES)}, got {deck_type!r}")
        self.num_decks, self.deck_type = num_decks, deck_type
        self.num_cards = 52 * num_decks
        self.num_values = DECK_TYPES[deck_type]
        n = self.num_cards
        self.episode_length = math.ceil(2 * n - n / (2 * n - 1))

    def __eq__(self, other):
        return isinstance(other, Concentration) and (other.num_decks, other.deck_type) == (
            self.num_decks, self.deck_type)

    def __hash__(self):
        return hash((Concentration, self.num_decks, self.deck_type))

    @property
    def default_params(self) -> ConcentrationParams:
        return ConcentrationParams()

    @property
    def name(self) -> str:
        return "Concentration"

    @property
    def num_actions(self) -> int:
        return self.num_cards

    def _observe(self, state, shown):
        code = jnp.where(shown, state.values, self.num_values)
        return jax.nn.one_hot(code, self.num_values + 1, dtype=jnp.float32)

    def reset_env(self, key, params):
        values = jnp.repeat(jnp.arange(self.num_values), self.num_cards // self.num_values)
        state = ConcentrationState(jax.random.permutation(key, values),
                                   jnp.zeros((self.num_cards,), bool), jnp.asarray(-1),
                                   jnp.zeros((), jnp.int32))
        return self._observe(state, state.face_up), state

    def transition(self, key, state, action, params) -> Transition:
        card = jnp.asarray(action, jnp.int32)
        has_first = state.first >= 0
        first = jnp.maximum(state.first, 0)
        in_play = jnp.zeros_like(state.face_up).at[card].set(True).at[first].max(has_first)
        obs = self._observe(state, state.face_up | in_play)
        fail = -1.0 / self.episode_length
        already_up = state.face_up[card]
        match = has_first & (state.values[first] == state.values[card]) & (first != card)
        reward = jnp.where(
            already_up, fail * (1 + has_first),
            jnp.where(has_first, jnp.where(match, 1.0 / (self.num_cards // 2), 2 * fail), 0.0))
        face_up = jnp.where(match & ~already_up, state.face_up | in_play, state.face_up)
        keep_first = ~already_up & ~has_first
        new = ConcentrationState(state.values, face_up, jnp.where(keep_first, card, -1),
                                 state.time + 1)
        terminated = jnp.all(face_up)
        truncated = ((state.time >= self.episode_length - 1)
                     | (new.time >= params.max_steps_in_episode)) & ~terminated
        return obs, new, reward, terminated, truncated, {}

    def action_space(self, params=None):
        return spaces.Discrete(self.num_cards)

    def observation_space(self, params):
        return spaces.Box(0.0, 1.0, (self.num_cards, self.num_values + 1), jnp.float32)


def make_concentration(level: str = "easy", **overrides):
    """Registry factory: ``level`` picks POPGym's deck count and value type."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {tuple(LEVELS)}, got {level!r}")
    unknown = sorted(set(overrides) - {"max_steps_in_episode"})
    if unknown:
        raise ValueError(f"Concentration has no parameter {', '.join(map(repr, unknown))}")
    env = Concentration(*LEVELS[level])
    return env, ConcentrationParams(**overrides)
