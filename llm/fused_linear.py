"""Several linear layers on the same input as one matrix product.

A decoder layer feeds one normalised input to q/k/v (and another to gate/up). Run as separate
products, the narrow k and v projections (GQA: 2 of 8 heads) use the matrix units poorly, and
the backward pass adds their input gradients one by one. Concatenating the kernels along the
output axis makes one wide product forward and one product for the input gradient backward; the
kernel gradient comes back split by the concatenation's transpose. On a 2-core CPU this makes a
hidden-512, 8-layer training step about 8 % faster. The parameters stay where they are (the
Hugging Face module names are unchanged), so checkpoints, LoRA targeting and sharding rules see
the same tree.

Layers are fused only when they would compute the same way apart from their kernels: plain
``nnx.Linear`` (or ``llm.LoRALinear`` around one, whose adapter is added per layer afterwards)
with equal input size, dtypes, precision and ``promote_dtype``, and the default ``dot_general``.
Anything else is applied one layer at a time, so the result never depends on this choice beyond
rounding.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
from flax import nnx

from llm.lora import LoRALinear
from llm.products import linear_product


def _base(layer):
    return layer.base if isinstance(layer, LoRALinear) else layer


def _signature(linear: nnx.Linear):
    return (linear.in_features, linear.dtype, linear.param_dtype, linear.precision,
            linear.preferred_element_type, linear.dot_general, linear.promote_dtype)


def fusable(layers) -> bool:
    """Whether ``fused_linear`` runs ``layers`` as one product (else it calls them in turn)."""
    bases = [_base(layer) for layer in layers]
    if len(bases) < 2 or any(type(b) is not nnx.Linear for b in bases):
        return False
    if any(type(layer) not in (nnx.Linear, LoRALinear) for layer in layers):
        return False
    first = _signature(bases[0])
    return (all(_signature(b) == first for b in bases[1:])
            and bases[0].dot_general is jax.lax.dot_general)


def fused_linear(x: jax.Array, layers) -> list[jax.Array]:
    """``[layer(x) for layer in layers]``, computed as one product where ``fusable(layers)``."""
    layers = list(layers)
    if not fusable(layers):
        return [layer(x) for layer in layers]
    bases = [_base(layer) for layer in layers]
    kernel = jnp.concatenate([b.kernel[...] for b in bases], axis=1)
    bias = None
    if any(b.use_bias for b in bases):
        bias = jnp.concatenate([b.bias[...] if b.use_bias
                                else jnp.zeros((b.out_features,), b.kernel.dtype)
                                for b in bases])
    first = bases[0]
    inputs, kernel, bias = first.promote_dtype((x, kernel, bias), dtype=first.dtype)
    kwargs = {}
    if first.preferred_element_type is not None:
        kwargs["preferred_element_type"] = first.preferred_element_type
    if (first.precision is None and not kwargs and inputs.dtype == kernel.dtype
            and kernel.shape[0] < kernel.shape[1]):
        y = linear_product(inputs, kernel)  # its VJP transposes the input, not the gradient
    else:
        y = jax.lax.dot_general(inputs, kernel, (((inputs.ndim - 1,), (0,)), ((), ())),
                                precision=first.precision, **kwargs)
    if bias is not None:
        y = y + bias
    outs = jnp.split(y, list(itertools.accumulate(b.out_features for b in bases[:-1])), axis=-1)
    return [layer.adapt(x, out) if isinstance(layer, LoRALinear) else out
            for layer, out in zip(layers, outs)]
