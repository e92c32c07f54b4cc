"""Matrix products whose backward pass transposes the smaller operand.

A weight gradient contracts two activations over their token axis: ``dW = xᵀ g`` for a linear layer,
``dB = (x A)ᵀ g`` for a LoRA adapter, ``dE = gᵀ h`` for a tied LM head. XLA's CPU backend runs such
a product by first transposing one of the two into a fresh buffer, and autodiff leaves the choice to
its layout assignment, which often picks the big one: the output gradient ``g`` [tokens, out], fused
into whatever produced it (for q_proj: the RoPE backward summing the causal attention blocks, read
with strides). Here the VJPs are written out so that the narrower operand is transposed, behind an
optimisation barrier that keeps XLA from folding the transpose back into the product, and the
product then reads ``g`` in its own layout. Values and gradients are those of the plain products up
to rounding. On a 2-core CPU, for hidden 512, 8 layers, batch 8 × 256, a full AdamW step took 6 %
less time and a LoRA step (r = 8, all seven projections) 17 % less (3.82 → 3.57 s and 3.22 → 2.68 s,
alternating in one process; the tied head's VJP took another 1.6 %); for hidden 256, 4 layers, 4 %
and 11 %. The layout problem is the CPU backend's: on other backends (GPU matrix units read either
layout) the plain products run, with autodiff's VJPs.
"""

from __future__ import annotations

from functools import partial

import jax


def _rows(x):
    return x.reshape(-1, x.shape[-1])


def _t(x):
    """``x.T`` materialised (the barrier stops XLA folding it into the product that reads it)."""
    return jax.lax.optimization_barrier(x.T)


def _nt(a, b):
    """``a @ b.T``"""
    return jax.lax.dot_general(a, b, (((1,), (1,)), ((), ())))


def _on_cpu() -> bool:
    return jax.default_backend() == "cpu"


def linear_product(x: jax.Array, w: jax.Array) -> jax.Array:
    """``x @ w`` for x [..., in] and w [in, out] of one dtype, where ``in < out`` (a layer
    wider out than in: its input is the smaller operand of the weight gradient)."""
    return _linear(x, w) if _on_cpu() else x @ w


@jax.custom_vjp
def _linear(x, w):
    return x @ w


def _linear_fwd(x, w):
    return x @ w, (x, w)


def _linear_bwd(residuals, g):
    x, w = residuals
    g2 = _rows(g)
    return _nt(g2, w).reshape(x.shape), _t(_rows(x)) @ g2


_linear.defvjp(_linear_fwd, _linear_bwd)


def lora_product(x: jax.Array, a: jax.Array, b: jax.Array, scaling: float) -> jax.Array:
    """LoRA's term ``((x @ a) * scaling) @ b`` for x [..., in], a [in, r], b [r, out] of one
    dtype (Hu et al. 2021, eq. 3; the scaling multiplies the rank-r activations, which is the
    same product)."""
    return _lora(x, a, b, scaling) if _on_cpu() else ((x @ a) * scaling) @ b


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def _lora(x, a, b, scaling):
    return ((x @ a) * scaling) @ b


def _lora_fwd(x, a, b, scaling):
    xa = (x @ a) * scaling
    return xa @ b, (x, a, b, xa)


def _lora_bwd(scaling, residuals, g):
    x, a, b, xa = residuals
    g2, x2 = _rows(g), _rows(x)
    dxa = _nt(g2, b) * scaling  # [N, r]
    db = _t(_rows(xa)) @ g2  # [r, N] @ [N, out]
    da = jax.lax.dot_general(x2, dxa, (((0,), (0,)), ((), ())))  # [in, r]; XLA transposes dxa
    return _nt(dxa, a).reshape(x.shape), da, db


_lora.defvjp(_lora_fwd, _lora_bwd)


def tied_head_product(h: jax.Array, embedding: jax.Array) -> jax.Array:
    """Logits ``h @ embedding.T`` of a tied LM head: h [..., d], embedding [V, d]. The
    embedding's gradient ``gᵀ h`` reads the [tokens, V] logit gradient in place and transposes
    the hidden states instead."""
    return _tied(h, embedding) if _on_cpu() else h @ embedding.T


def _logits(h, embedding):
    return _nt(_rows(h), embedding).reshape(*h.shape[:-1], embedding.shape[0])


_tied = jax.custom_vjp(_logits)


def _tied_fwd(h, embedding):
    return _logits(h, embedding), (h, embedding)


def _tied_bwd(residuals, g):
    h, embedding = residuals
    g2 = _rows(g)
    dh = (g2 @ embedding).reshape(h.shape)
    return dh, jax.lax.dot_general(g2, _t(_rows(h)), (((0,), (1,)), ((), ())))


_tied.defvjp(_tied_fwd, _tied_bwd)
