"""The two action distributions the agents need, as plain functions of their parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp


class Categorical:
    """Discrete distribution from unnormalised ``logits`` (last axis = actions)."""

    def __init__(self, logits):
        self.logits = jax.nn.log_softmax(logits)

    def sample(self, key):
        return jax.random.categorical(key, self.logits)

    def log_prob(self, action):
        return jnp.take_along_axis(self.logits, action[..., None].astype(jnp.int32), -1)[..., 0]

    def entropy(self):
        return -(jnp.exp(self.logits) * self.logits).sum(-1)

    def mode(self):
        return jnp.argmax(self.logits, -1)


class DiagGaussian:
    """Diagonal Gaussian with mean ``mean`` and log standard deviation ``log_std``."""

    def __init__(self, mean, log_std):
        self.mean = mean
        self.log_std = jnp.broadcast_to(log_std, mean.shape)

    def sample(self, key):
        return self.mean + jnp.exp(self.log_std) * jax.random.normal(key, self.mean.shape)

    def log_prob(self, action):
        z = (action - self.mean) * jnp.exp(-self.log_std)
        return (-0.5 * z**2 - self.log_std - 0.5 * jnp.log(2 * jnp.pi)).sum(-1)

    def entropy(self):
        return (self.log_std + 0.5 * (1.0 + jnp.log(2 * jnp.pi))).sum(-1)

    def mode(self):
        return self.mean
