"""Per-token KL divergence over the vocabulary between the frozen reference p0 and the model p.

``token_kl(logits, ref_logits, direction)`` -> [...] (float32):
- "forward": KL(p0 || p) = sum_v p0 (log p0 - log p)
- "reverse": KL(p || p0) = sum_v p (log p - log p0)

The gradient with respect to ``logits`` is written out (a custom VJP) rather than left to
autodiff: forward KL gives p - p0, reverse gives p * (log p - log p0 - KL). Both are exactly
zero when the logits equal the reference bit for bit, which is the state of a fresh LoRA adapter
(B = 0); autodiff through log_softmax would leave rounding residue of order 1e-8 there (its
gradient carries a factor sum(p0) that is 1 only up to rounding). The reference gets no gradient.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from llm.kl_replay.config import KL_DIRECTIONS


def token_kl(logits: jax.Array, ref_logits: jax.Array, direction: str = "forward") -> jax.Array:
    """KL per position [...] for logits and reference logits [..., V]."""
    if direction not in KL_DIRECTIONS:
        raise ValueError(f"direction={direction!r} is invalid: expected one of {KL_DIRECTIONS}")
    return _kl(direction, logits.astype(jnp.float32),
               jax.lax.stop_gradient(ref_logits.astype(jnp.float32)))


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _kl(direction, logits, ref_logits):
    return _forward(direction, logits, ref_logits)[0]


def _forward(direction, logits, ref_logits):
    logp = jax.nn.log_softmax(logits, axis=-1)
    logq = jax.nn.log_softmax(ref_logits, axis=-1)
    if direction == "forward":
        kl = jnp.sum(jnp.exp(logq) * (logq - logp), axis=-1)
    else:
        kl = jnp.sum(jnp.exp(logp) * (logp - logq), axis=-1)
    return kl, (logp, logq, kl)


def _bwd(direction, residuals, g):
    logp, logq, kl = residuals
    p = jnp.exp(logp)
    if direction == "forward":
        grad = p - jnp.exp(logq)
    else:
        grad = p * ((logp - logq) - kl[..., None])
    return g[..., None] * grad, jnp.zeros_like(logq)


_kl.defvjp(lambda d, x, r: _forward(d, x, r), _bwd)
