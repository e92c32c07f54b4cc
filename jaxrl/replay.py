"""Uniform experience replay (Lin 1992; as used by DQN, Mnih et al. 2015): a thin layer over
flashbax's item buffer, which is a pure, jittable circular buffer.

Items are whole :class:`Transition` records ``(obs, action, reward, next_obs, terminated)``
rather than consecutive observations, so ``next_obs`` can be the true final observation of an
episode that was cut short (``info["final_observation"]``) and the bootstrap mask can be
``terminated`` alone: truncated episodes bootstrap.
"""

from __future__ import annotations

import flashbax as fbx
import jax
from flax import struct


@struct.dataclass
class Transition:
    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array


def make_uniform_replay(capacity: int, batch_size: int):
    """A flashbax buffer holding ``capacity`` items, sampling ``batch_size`` uniformly.

    ``buffer.init(item)`` takes one unbatched example item; ``buffer.add(state, items)`` takes
    items with a leading batch axis (one per parallel environment), oldest overwritten first;
    ``buffer.sample(state, key).experience`` is a batch of items drawn uniformly with
    replacement; ``buffer.can_sample(state)`` is true once ``batch_size`` items are stored.
    """
    return fbx.make_item_buffer(
        max_length=capacity, min_length=batch_size, sample_batch_size=batch_size,
        add_sequences=False, add_batches=True,
    )
