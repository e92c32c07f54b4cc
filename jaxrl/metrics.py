"""Small reductions of rollout ``info`` into per-update learning-curve metrics."""

from __future__ import annotations

import jax.numpy as jnp


def finished_episode_mean(info: dict, key: str = "returned_episode_return"):
    """Mean of ``info[key]`` over episodes that ended in this batch; NaN when none ended."""
    done = info["returned_episode"]
    count = done.sum()
    total = jnp.where(done, info[key], 0.0).sum()
    return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)
