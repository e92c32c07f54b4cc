"""POPGym's card-memory tasks (Morad et al., 2023) as pure environments over a shuffled deck.

Only suits matter: a deck of ``num_decks`` × 52 cards is a shuffled array of suits, 13 ×
``num_decks`` of each. Actions are suits (``Discrete(4)``).

* ``RepeatPrevious``: each step shows the next card (a one-hot suit); from the ``k``-th card on,
  the action scores ``±1/(N − k)`` for naming the suit of the card seen ``k − 1`` steps before
  the current one (POPGym's indexing: ``k = 1`` is the current card). The episode ends when one
  card is left (``N − 1`` steps). Easy/medium/hard: 1/2/3 decks, k = 4/32/64.
* ``Autoencode``: a watch phase shows the cards one by one (observation ``[watching, suit]``),
  then the agent recites them in reverse order, ``±1/N`` per card (``2N − 1`` steps).
  Choice where POPGym shows an arbitrary constant suit during play: the suit part is zeros.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment, Transition

LEVELS = {"easy": (1, 4), "medium": (2, 32), "hard": (3, 64)}


def shuffled_suits(key, num_decks: int) -> jax.Array:
    return jax.random.permutation(key, jnp.repeat(jnp.arange(4), 13 * num_decks))


@struct.dataclass
class CardState:
    suits: jax.Array  # the shuffled deck
    time: jax.Array  # steps taken; card ``time`` is the newest one shown


@struct.dataclass
class CardParams:
    k: int = 4
    max_steps_in_episode: int = 1_000_000  # the deck ends episodes first


class _CardTask(Environment):
    def __init__(self, num_decks: int = 1):
        if not isinstance(num_decks, int) or num_decks < 1:
            raise ValueError(f"num_decks must be an integer >= 1, got {num_decks!r}")
        self.num_decks = num_decks
        self.num_cards = 52 * num_decks

    def __eq__(self, other):
        return type(other) is type(self) and other.num_decks == self.num_decks

    def __hash__(self):
        return hash((type(self), self.num_decks))

    @property
    def default_params(self) -> CardParams:
        return CardParams()

    @property
    def num_actions(self) -> int:
        return 4

    def action_space(self, params=None):
        return spaces.Discrete(4)


class RepeatPrevious(_CardTask):
    """Name the suit of the card shown ``k − 1`` steps ago."""

    @property
    def name(self) -> str:
        return "RepeatPrevious"

    def reset_env(self, key, params):
        state = CardState(shuffled_suits(key, self.num_decks), jnp.zeros((), jnp.int32))
        return jax.nn.one_hot(state.suits[0], 4), state

    def transition(self, key, state, action, params) -> Transition:
        t = state.time  # cards 0..t have been shown
        scored = t + 1 >= params.k
        target = state.suits[jnp.maximum(t + 1 - params.k, 0)]
        scale = 1.0 / (self.num_cards - params.k)
        reward = jnp.where(scored, jnp.where(action == target, scale, -scale), 0.0)
        terminated = t == self.num_cards - 2
        new = CardState(state.suits, t + 1)
        obs = jax.nn.one_hot(state.suits[jnp.minimum(t + 1, self.num_cards - 1)], 4)
        return obs, new, reward, terminated, jnp.zeros((), bool), {}

    def observation_space(self, params):
        return spaces.Box(0.0, 1.0, (4,), jnp.float32)


class Autoencode(_CardTask):
    """Watch the deck, then recite its suits in reverse order."""

    @property
    def name(self) -> str:
        return "Autoencode"

    def _obs(self, state):
        watching = state.time < self.num_cards - 1
        shown = jnp.minimum(state.time, self.num_cards - 1)
        suit = jnp.where(state.time <= self.num_cards - 1,
                         jax.nn.one_hot(state.suits[shown], 4), jnp.zeros(4))
        return jnp.concatenate([watching[None].astype(jnp.float32), suit])

    def reset_env(self, key, params):
        state = CardState(shuffled_suits(key, self.num_decks), jnp.zeros((), jnp.int32))
        return self._obs(state), state

    def transition(self, key, state, action, params) -> Transition:
        n = self.num_cards
        t = state.time
        playing = t >= n - 1  # the last card has been shown: recite
        position = 2 * (n - 1) - t  # the card to name now, from the last back to the first
        target = state.suits[jnp.clip(position, 0, n - 1)]
        reward = jnp.where(playing, jnp.where(action == target, 1.0 / n, -1.0 / n), 0.0)
        terminated = playing & (position == 0)
        new = CardState(state.suits, t + 1)
        return self._obs(new), new, reward, terminated, jnp.zeros((), bool), {}

    def observation_space(self, params):
        return spaces.Box(0.0, 1.0, (5,), jnp.float32)


def make_card_task(cls):
    """Registry factory: ``level`` sets POPGym's deck count (and k for RepeatPrevious)."""

    def factory(level: str = "easy", **overrides):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {tuple(LEVELS)}, got {level!r}")
        num_decks, k = LEVELS[level]
        env = cls(num_decks)
        params = CardParams(k=k)
        unknown = sorted(set(overrides) - {"k"})
        if unknown:
            raise ValueError(f"{cls.__name__} has no parameter {', '.join(map(repr, unknown))}")
        params = params.replace(**overrides)
        if not 1 <= int(params.k) < env.num_cards:
            raise ValueError(f"k={params.k} is invalid: expected 1 <= k < {env.num_cards}")
        return env, params

    return factory
