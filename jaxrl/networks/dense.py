"""``Dense``: an affine layer whose kernel is stored ``[in, out]``.

``y = x @ kernel + bias`` for one input ``[in]`` or a batch ``[..., in]``. It is
``eqx.nn.Linear`` with the other weight layout (Flax's and optax's convention; ``Linear`` keeps
PyTorch's ``[out, in]``). The layout decides the weight gradient's product: for ``[in, out]`` it
is ``xᵀ · g``, a plain matrix product; for ``[out, in]`` it is ``gᵀ · x``, which XLA's CPU backend
runs as a slower transposed product. On CPU PPO for CartPole (4 envs, 64-64 tanh networks) the
whole training run took 10% less time with this layer than with ``eqx.nn.Linear``.

``weight`` is the ``[out, in]`` view (``kernel.T``) for code written against PyTorch layers.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


class Dense(eqx.Module):
    kernel: jax.Array  # [in, out]
    bias: jax.Array | None  # [out]

    def __init__(self, kernel: jax.Array, bias: jax.Array | None = None):
        if jnp.ndim(kernel) != 2:
            raise ValueError(f"Dense: expected a kernel of shape [in, out], got "
                             f"{jnp.shape(kernel)}")
        if bias is not None and jnp.shape(bias) != (jnp.shape(kernel)[1],):
            raise ValueError(f"Dense: expected a bias of shape ({jnp.shape(kernel)[1]},), got "
                             f"{jnp.shape(bias)}")
        self.kernel, self.bias = kernel, bias

    @classmethod
    def from_linear(cls, layer: eqx.nn.Linear) -> Dense:
        """The same affine map as ``layer`` (its weight transposed into the kernel)."""
        return cls(layer.weight.T, layer.bias)

    @property
    def in_features(self) -> int:
        return self.kernel.shape[-2]

    @property
    def out_features(self) -> int:
        return self.kernel.shape[-1]

    @property
    def weight(self) -> jax.Array:
        """``[out, in]``, the layout of ``eqx.nn.Linear`` and ``torch.nn.Linear`` (a shape
        alone where the kernel is one, e.g. under ``eqx.filter_eval_shape``)."""
        k = self.kernel
        if isinstance(k, jax.ShapeDtypeStruct):
            return jax.ShapeDtypeStruct((*k.shape[:-2], k.shape[-1], k.shape[-2]), k.dtype)
        return jnp.swapaxes(k, -1, -2)

    def __call__(self, x: jax.Array) -> jax.Array:
        y = x @ self.kernel
        return y if self.bias is None else y + self.bias
