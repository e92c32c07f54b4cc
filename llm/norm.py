"""RMSNorm as Qwen computes it: statistics in float32, scale applied in the input dtype."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


class RMSNorm(nnx.Module):
    """y = weight * (x / sqrt(mean(x^2) + eps)), normalising over the last axis.

    The parameter is named ``weight`` (Hugging Face's name) and starts at ones.
    """

    def __init__(self, size: int, eps: float = 1e-6, *, param_dtype=jnp.float32):
        self.weight = nnx.Param(jnp.ones((size,), param_dtype))
        self.eps = eps

    def __call__(self, x: jax.Array) -> jax.Array:
        dtype = x.dtype
        x32 = x.astype(jnp.float32)
        x32 = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
        return self.weight[...].astype(dtype) * x32.astype(dtype)
