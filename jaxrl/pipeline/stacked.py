"""Same-width layers stacked on a leading layer axis, applied one by one or all at once.

This is the batched operation behind the parallel pipelined tick (Anokhin et al. 2025, "parallel
neuron computation"): because every layer of a pipelined network reads last tick's activation of
the layer below, the ``L`` stacked layers of one tick have no data dependence and run as a single
``vmap`` over the layer axis. :meth:`Stacked.apply_each` computes the same thing with a Python
loop over layers (the layer-by-layer tick); both give the same numbers.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.init import orthogonal


def orthogonal_stack(key: jax.Array, count: int, in_size: int, out_size: int,
                     gain: float = 2**0.5) -> jax.Array:
    """``count`` orthogonal ``(out_size, in_size)`` matrices of gain ``gain``."""
    init = orthogonal(gain)  # a loop of single QRs under this vmap (see jaxrl.networks.init)
    return jax.vmap(lambda k: init(k, (out_size, in_size), jnp.float32))(
        jax.random.split(key, count))


class Stacked(eqx.Module):
    """``L`` affine layers ``x_l -> W_l x_l + b_l`` with ``W: [L, out, in]``, ``b: [L, out]``."""

    weight: jax.Array
    bias: jax.Array

    def __init__(self, count: int, in_size: int, out_size: int, key: jax.Array,
                 gain: float = 2**0.5):
        self.weight = orthogonal_stack(key, count, in_size, out_size, gain)
        self.bias = jnp.zeros((count, out_size), jnp.float32)

    @property
    def count(self) -> int:
        return self.weight.shape[0]

    def layer(self, i: int, x: jax.Array) -> jax.Array:
        """Layer ``i`` alone on its input ``x: [in]``."""
        return self.weight[i] @ x + self.bias[i]

    def apply_all(self, xs: jax.Array) -> jax.Array:
        """All layers at once on their inputs ``xs: [L, in]`` (one batched matmul)."""
        return jax.vmap(lambda w, b, x: w @ x + b)(self.weight, self.bias, xs)

    def apply_each(self, xs: jax.Array) -> jax.Array:
        """The same as :meth:`apply_all`, one layer after the other."""
        if self.count == 0:
            return jnp.zeros((0, self.bias.shape[1]), xs.dtype)
        return jnp.stack([self.layer(i, xs[i]) for i in range(self.count)])
