"""Pipelined CNN for image observations (Anokhin et al. 2025; the MinAtar actor of the paper:
3×3 convolutions with 32-64-64 channels, then a 512-unit dense layer, then the head).

Depth ``N = len(channels) + 2``. The state is the tuple of every hidden layer's activation (feature
maps ``(H-2i, W-2i, C_i)`` for the valid 3×3 convolutions, then the dense vector), zeros
initially; each layer reads last tick's activation of the layer below, and the head's output is
emitted in the tick that computes it. Variants (:mod:`jaxrl.pipeline.variants`):

* ``skip``: the head reads ``concat(flatten(o_t), pool(h¹), …, pool(h^{N-2}), h^{N-1})`` where
  ``pool`` is a global spatial mean of a feature map (our choice of the paper's "pooled");
* ``concat``: every later layer also reads the fresh observation, bilinearly resized to the
  spatial size of the feature map it is stacked onto (flattened for the dense layer and head).

The layers have different shapes, so a tick's layers are independent operations (XLA may run
them concurrently) rather than one batched matmul; :meth:`tick` and :meth:`forward` are as in
:class:`~jaxrl.pipeline.mlp.PipelineMLP`. Convolutions are matmuls over 3×3 patches
(``jaxrl.networks.minatar_cnn.patches3x3``).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.dense import Dense
from jaxrl.networks.init import linear
from jaxrl.networks.minatar_cnn import patches3x3
from jaxrl.pipeline.variants import VARIANTS


def _resize(obs: jax.Array, like: jax.Array) -> jax.Array:
    return jax.image.resize(obs, (*like.shape[:2], obs.shape[-1]), "linear")


class PipelineCNN(eqx.Module):
    convs: tuple[Dense, ...]  # 3×3 kernels as (9·C_in -> C_out) maps over patches
    dense: Dense
    head: Dense
    obs_shape: tuple[int, int, int] = eqx.field(static=True)
    channels: tuple[int, ...] = eqx.field(static=True)
    hidden: int = eqx.field(static=True)
    variant: str = eqx.field(static=True)

    def __init__(self, obs_shape, out_size: int, key: jax.Array, variant: str = "plain",
                 channels=(32, 64, 64), hidden: int = 512, out_scale: float = 1.0):
        if variant not in VARIANTS:
            raise ValueError(f"variant={variant!r} is invalid: expected one of {VARIANTS}")
        h, w, c = obs_shape
        if len(channels) < 1 or min(h, w) - 2 * len(channels) < 1:
            raise ValueError(f"channels={channels} needs 1 to {(min(h, w) - 1) // 2} "
                             f"convolutions for observations of shape {tuple(obs_shape)}")
        keys = jax.random.split(key, len(channels) + 2)
        extra = c if variant == "concat" else 0
        convs, c_in = [], c
        for i, c_out in enumerate(channels):
            convs.append(linear(9 * (c_in + (extra if i else 0)), c_out, keys[i]))
            c_in = c_out
        self.convs = tuple(convs)
        flat = (h - 2 * len(channels)) * (w - 2 * len(channels)) * channels[-1]
        obs_flat = h * w * c
        self.dense = linear(flat + (obs_flat if variant == "concat" else 0), hidden, keys[-2])
        head_in = {"plain": hidden, "concat": hidden + obs_flat,
                   "skip": obs_flat + sum(channels) + hidden}[variant]
        self.head = linear(head_in, out_size, keys[-1], out_scale)
        self.obs_shape, self.channels = tuple(obs_shape), tuple(channels)
        self.hidden, self.variant = hidden, variant

    @property
    def depth(self) -> int:
        return len(self.channels) + 2

    def initial_state(self) -> tuple[jax.Array, ...]:
        h, w, _ = self.obs_shape
        maps = tuple(jnp.zeros((h - 2 * (i + 1), w - 2 * (i + 1), c), jnp.float32)
                     for i, c in enumerate(self.channels))
        return (*maps, jnp.zeros((self.hidden,), jnp.float32))

    def _conv(self, i: int, x: jax.Array, obs: jax.Array) -> jax.Array:
        if i and self.variant == "concat":
            x = jnp.concatenate([x, _resize(obs, x)], -1)
        layer = self.convs[i]
        return jax.nn.relu(layer(patches3x3(x)))

    def _dense(self, x: jax.Array, obs: jax.Array) -> jax.Array:
        x = x.reshape(-1)
        if self.variant == "concat":
            x = jnp.concatenate([x, obs.reshape(-1)])
        return jax.nn.relu(self.dense(x))

    def _head(self, hidden: tuple[jax.Array, ...], obs: jax.Array) -> jax.Array:
        if self.variant == "skip":
            pooled = [m.mean(axis=(0, 1)) for m in hidden[:-1]]
            x = jnp.concatenate([obs.reshape(-1), *pooled, hidden[-1]])
        elif self.variant == "concat":
            x = jnp.concatenate([hidden[-1], obs.reshape(-1)])
        else:
            x = hidden[-1]
        return self.head(x)

    def tick(self, state, obs):
        """One tick: every layer from last tick's activations; ``(new state, output)``."""
        obs = obs.astype(jnp.float32)
        maps = [self._conv(0, obs, obs)]
        maps += [self._conv(i, state[i - 1], obs) for i in range(1, len(self.channels))]
        dense = self._dense(state[len(self.channels) - 1], obs)
        return (*maps, dense), self._head(state, obs)

    __call__ = tick

    def forward(self, obs: jax.Array) -> jax.Array:
        """The ordinary forward pass through the same layers."""
        obs = obs.astype(jnp.float32)
        hs, x = [], obs
        for i in range(len(self.channels)):
            x = self._conv(i, x, obs)
            hs.append(x)
        hs.append(self._dense(x, obs))
        return self._head(tuple(hs), obs)
