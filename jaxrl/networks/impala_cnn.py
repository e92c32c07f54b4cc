"""The IMPALA "deep" convolutional torso (Espeholt et al. 2018, Fig. 3 right).

Per stage: 3×3 convolution, 3×3 max-pool with stride 2 ("SAME" padding, as in the paper's
TensorFlow code), then two residual blocks ``x + conv(relu(conv(relu(x))))``. After the stages:
ReLU, flatten, a dense layer of ``hidden`` units and ReLU. ``width`` multiplies every channel
count (the width scaling of the realtime-RL paper's network-size study).

Choices where the paper is silent: observations are channels-last ``(H, W, C)``; ``uint8``
observations are scaled by 1/255, anything else (``bool``, float) is cast to float32 as is. The
convolutions keep Equinox's default (PyTorch-style) initialisation, as CleanRL's IMPALA torso
does; the dense layer is orthogonal with gain √2 and zero bias like the other PPO torsos.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.dense import Dense
from jaxrl.networks.init import linear


def max_pool_same(x: jax.Array) -> jax.Array:
    """3×3 max-pool, stride 2, "SAME" padding (padded cells never win) on ``(C, H, W)``."""
    return jax.lax.reduce_window(
        x, -jnp.inf, jax.lax.max, (1, 3, 3), (1, 2, 2), "SAME"
    )


def _conv3x3(in_ch: int, out_ch: int, key: jax.Array) -> eqx.nn.Conv2d:
    return eqx.nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=1, padding="SAME", key=key)


class ResidualBlock(eqx.Module):
    """``x + conv2(relu(conv1(relu(x))))`` with channel count preserved."""

    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d

    def __init__(self, channels: int, key: jax.Array):
        k1, k2 = jax.random.split(key)
        self.conv1 = _conv3x3(channels, channels, k1)
        self.conv2 = _conv3x3(channels, channels, k2)

    def __call__(self, x: jax.Array) -> jax.Array:
        return x + self.conv2(jax.nn.relu(self.conv1(jax.nn.relu(x))))


class ImpalaStage(eqx.Module):
    """conv3×3 → max-pool 3×3/2 → two residual blocks."""

    conv: eqx.nn.Conv2d
    blocks: tuple[ResidualBlock, ResidualBlock]

    def __init__(self, in_ch: int, out_ch: int, key: jax.Array):
        k0, k1, k2 = jax.random.split(key, 3)
        self.conv = _conv3x3(in_ch, out_ch, k0)
        self.blocks = (ResidualBlock(out_ch, k1), ResidualBlock(out_ch, k2))

    def __call__(self, x: jax.Array) -> jax.Array:
        x = max_pool_same(self.conv(x))
        for block in self.blocks:
            x = block(x)
        return x


def _pooled(size: int) -> int:
    return -(-size // 2)  # ceil(size / 2): the output length of a SAME stride-2 pool


class ImpalaCNN(eqx.Module):
    """IMPALA deep torso: ``(H, W, C)`` observation → ``(out_size,)`` features."""

    stages: tuple[ImpalaStage, ...]
    dense: Dense
    obs_shape: tuple[int, int, int] = eqx.field(static=True)
    out_size: int = eqx.field(static=True)

    def __init__(
        self,
        obs_shape: tuple[int, ...],
        key: jax.Array,
        width: int = 1,
        channels: Sequence[int] = (16, 32, 32),
        hidden: int = 256,
    ):
        if len(obs_shape) != 3:
            raise ValueError(f"obs_shape must be (H, W, C), got {tuple(obs_shape)}")
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        if not channels or any(c < 1 for c in channels):
            raise ValueError(f"channels must be a non-empty sequence of positive ints, got "
                             f"{tuple(channels)}")
        if hidden < 1:
            raise ValueError(f"hidden must be positive, got {hidden}")
        h, w, c = (int(s) for s in obs_shape)
        keys = jax.random.split(key, len(channels) + 1)
        stages = []
        in_ch = c
        for k, ch in zip(keys[:-1], channels):
            stages.append(ImpalaStage(in_ch, ch * width, k))
            in_ch = ch * width
            h, w = _pooled(h), _pooled(w)
        self.stages = tuple(stages)
        self.dense = linear(in_ch * h * w, hidden, keys[-1])
        self.obs_shape = (int(obs_shape[0]), int(obs_shape[1]), int(obs_shape[2]))
        self.out_size = hidden

    def __call__(self, obs: jax.Array) -> jax.Array:
        if obs.shape != self.obs_shape:
            raise ValueError(f"obs must have shape {self.obs_shape} (H, W, C; vmap for "
                             f"batches), got {obs.shape}")
        x = obs.astype(jnp.float32)
        if obs.dtype == jnp.uint8:
            x = x / 255.0
        x = jnp.transpose(x, (2, 0, 1))
        for stage in self.stages:
            x = stage(x)
        x = jax.nn.relu(x).reshape(-1)
        return jax.nn.relu(self.dense(x))
