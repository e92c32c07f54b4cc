"""The MinAtar network torso (Young & Tian 2019): one 3×3 convolution with 16 channels, ReLU,
flatten, and a 128-unit dense layer. Input is channels-last ``(10, 10, C)`` as gymnax emits."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.init import linear


class MinAtarCNN(eqx.Module):
    conv: eqx.nn.Conv2d
    dense: eqx.nn.Linear
    out_size: int = eqx.field(static=True)

    def __init__(self, obs_shape: tuple[int, ...], key: jax.Array, channels: int = 16,
                 hidden: int = 128):
        h, w, c = obs_shape
        k1, k2 = jax.random.split(key)
        self.conv = eqx.nn.Conv2d(c, channels, kernel_size=3, stride=1, padding=0, key=k1)
        self.dense = linear(channels * (h - 2) * (w - 2), hidden, k2)
        self.out_size = hidden

    def __call__(self, obs: jax.Array) -> jax.Array:
        x = jnp.transpose(obs.astype(jnp.float32), (2, 0, 1))
        x = jax.nn.relu(self.conv(x))
        return jax.nn.relu(self.dense(x.reshape(-1)))
