"""The action distributions the agents need, as plain functions of their parameters.

``sample(key)`` equals ``sample_with(noise(key, shape))``: a rollout can draw the noise of all
its steps in one call before its scan (one random-number kernel instead of one per step, which
is most of a small rollout step's cost on a CPU) and give each step its slice.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


class Categorical:
    """Discrete distribution from unnormalised ``logits`` (last axis = actions)."""

    def __init__(self, logits):
        self.logits = jax.nn.log_softmax(logits)

    def sample(self, key):
        return jax.random.categorical(key, self.logits)

    @staticmethod
    def noise(key, shape):
        """Gumbel noise for ``sample_with``; ``shape`` ends with the number of actions."""
        return jax.random.gumbel(key, shape)

    def sample_with(self, noise):
        """The Gumbel-max sample (what ``jax.random.categorical`` computes) for given noise."""
        return jnp.argmax(self.logits + noise, -1)

    def log_prob(self, action):
        return jnp.take_along_axis(self.logits, action[..., None].astype(jnp.int32), -1)[..., 0]

    def entropy(self):
        return -(jnp.exp(self.logits) * self.logits).sum(-1)

    def mode(self):
        return jnp.argmax(self.logits, -1)


class MultiCategorical:
    """Independent discrete heads (e.g. an environment action and a memory action, the two-head
    encoding of Adaptive Stacking): ``logits`` hold the heads' logits side by side on the last
    axis, ``sizes`` their action counts; an action is an int array ``[a_0, a_1, …]``."""

    def __init__(self, logits, sizes):
        self.sizes = tuple(int(n) for n in sizes)
        if logits.shape[-1] != sum(self.sizes):
            raise ValueError(f"logits have {logits.shape[-1]} entries on the last axis; "
                             f"sizes={self.sizes} need {sum(self.sizes)}")
        bounds = np.cumsum(self.sizes)[:-1]
        self.heads = [Categorical(x) for x in jnp.split(logits, bounds, axis=-1)]
        self.bounds = bounds

    def sample(self, key):
        return self.sample_with(self.noise(key, (*self.heads[0].logits.shape[:-1],
                                                 sum(self.sizes))))

    noise = staticmethod(Categorical.noise)

    def sample_with(self, noise):
        parts = jnp.split(noise, self.bounds, axis=-1)
        return jnp.stack([h.sample_with(n) for h, n in zip(self.heads, parts)], -1)

    def log_prob(self, action):
        return sum(h.log_prob(action[..., i]) for i, h in enumerate(self.heads))

    def entropy(self):
        return sum(h.entropy() for h in self.heads)

    def mode(self):
        return jnp.stack([h.mode() for h in self.heads], -1)


def make_distribution(dist_out, log_std=None, sizes=None):
    """The policy's distribution: ``DiagGaussian`` when ``log_std`` is given, else
    ``MultiCategorical`` for two or more ``sizes``, else ``Categorical``."""
    if log_std is not None:
        return DiagGaussian(dist_out, log_std)
    if sizes is not None and len(sizes) > 1:
        return MultiCategorical(dist_out, sizes)
    return Categorical(dist_out)


class DiagGaussian:
    """Diagonal Gaussian with mean ``mean`` and log standard deviation ``log_std``."""

    def __init__(self, mean, log_std):
        self.mean = mean
        self.log_std = jnp.broadcast_to(log_std, mean.shape)

    def sample(self, key):
        return self.sample_with(self.noise(key, self.mean.shape))

    @staticmethod
    def noise(key, shape):
        """Standard normal noise for ``sample_with``; ``shape`` ends with the action size."""
        return jax.random.normal(key, shape)

    def sample_with(self, noise):
        return self.mean + jnp.exp(self.log_std) * noise

    def log_prob(self, action):
        z = (action - self.mean) * jnp.exp(-self.log_std)
        return (-0.5 * z**2 - self.log_std - 0.5 * jnp.log(2 * jnp.pi)).sum(-1)

    def entropy(self):
        return (self.log_std + 0.5 * (1.0 + jnp.log(2 * jnp.pi))).sum(-1)

    def mode(self):
        return self.mean
