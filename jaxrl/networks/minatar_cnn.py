"""The MinAtar network torso (Young & Tian 2019): one 3×3 convolution with 16 channels (valid
padding, stride 1), ReLU, flatten, and a 128-unit dense layer with ReLU.

Input is channels-last ``(H, W, C)`` as gymnax emits. The convolution is computed as a matmul
over the 3×3 patches (``patches(x) @ kernel``), which is the same function as ``lax.conv`` but
stays a plain matmul when ``vmap`` batches the weights (a population of seeds), where XLA's CPU
convolution falls back to a slow grouped convolution.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.dense import Dense
from jaxrl.networks.init import linear


def patches3x3(x: jax.Array) -> jax.Array:
    """``(H, W, C) -> (H-2, W-2, 9·C)``, patch features ordered (row offset, col offset, C)."""
    h, w, _ = x.shape
    return jnp.concatenate([x[i:i + h - 2, j:j + w - 2] for i in range(3) for j in range(3)], -1)


class MinAtarCNN(eqx.Module):
    conv: Dense  # the 3×3 kernel as a (9·C -> channels) linear map over patches
    dense: Dense
    out_size: int = eqx.field(static=True)

    def __init__(self, obs_shape: tuple[int, ...], key: jax.Array, channels: int = 16,
                 hidden: int = 128):
        h, w, c = obs_shape
        k1, k2 = jax.random.split(key)
        self.conv = Dense.from_linear(eqx.nn.Linear(9 * c, channels, key=k1))  # Equinox's init
        self.dense = linear(channels * (h - 2) * (w - 2), hidden, k2)
        self.out_size = hidden

    def __call__(self, obs: jax.Array) -> jax.Array:
        p = patches3x3(obs.astype(jnp.float32))
        x = jax.nn.relu(self.conv(p))
        return jax.nn.relu(self.dense(x.reshape(-1)))
