"""LM head and next-token cross-entropy fused, chunked over tokens, with a hand-written VJP.

The plain loss materialises the [N, V] logits, their log-softmax and its gradient: for a 32k
vocabulary that is most of a small model's training-step memory traffic. Here the logits of
``chunk`` tokens at a time are formed, reduced to their log-sum-exp and target logit, and
dropped; the backward pass forms them again per chunk and turns them straight into the two
gradients (``dL/dh = (softmax - onehot) W`` and ``dL/dW = (softmax - onehot)ᵀ h``). The value
is the same weighted sum of token NLLs as ``llm.losses.masked_nll_sum`` (the choice of chunk
changes only rounding). Logits accumulate in float32 whatever the input dtype.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

DEFAULT_CHUNK = 256


def _chunks(x: jax.Array, chunk: int) -> jax.Array:
    n = x.shape[0]
    pad = -n % chunk
    if pad:
        x = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1))
    return x.reshape(-1, chunk, *x.shape[1:])


def _logits(h, weight):
    return jnp.dot(h, weight.T, preferred_element_type=jnp.float32)


@partial(jax.custom_vjp, nondiff_argnums=(4,))
def _fused(hidden, weight, targets, weights, chunk):
    return _forward(hidden, weight, targets, weights, chunk)[0]


def _forward(hidden, weight, targets, weights, chunk):
    def body(total, xs):
        h, t, w = xs
        logits = _logits(h, weight)
        lse = jax.nn.logsumexp(logits, axis=-1)
        picked = jnp.take_along_axis(logits, t[:, None], axis=-1)[:, 0]
        return total + jnp.sum((lse - picked) * w), lse

    xs = (_chunks(hidden, chunk), _chunks(targets, chunk), _chunks(weights, chunk))
    total, lse = jax.lax.scan(body, jnp.zeros((), jnp.float32), xs)
    return total, lse


def _fwd(hidden, weight, targets, weights, chunk):
    total, lse = _forward(hidden, weight, targets, weights, chunk)
    return total, (hidden, weight, targets, weights, lse)


def _bwd(chunk, residuals, g):
    hidden, weight, targets, weights, lse = residuals
    n = hidden.shape[0]

    def body(grad_w, xs):
        h, t, w, l = xs
        logits = _logits(h, weight)
        d = jnp.exp(logits - l[:, None])
        d = d.at[jnp.arange(d.shape[0]), t].add(-1.0) * (g * w)[:, None]
        grad_h = jnp.dot(d, weight.astype(jnp.float32)).astype(hidden.dtype)
        grad_w = grad_w + jnp.dot(d.T, h.astype(jnp.float32))
        return grad_w, grad_h

    xs = (_chunks(hidden, chunk), _chunks(targets, chunk), _chunks(weights, chunk), lse)
    grad_w, grad_h = jax.lax.scan(body, jnp.zeros(weight.shape, jnp.float32), xs)
    grad_h = grad_h.reshape(-1, hidden.shape[-1])[:n]
    zeros_like_int = jnp.zeros(targets.shape, jax.dtypes.float0)
    return grad_h, grad_w.astype(weight.dtype), zeros_like_int, jnp.zeros_like(weights)


_fused.defvjp(_fwd, _bwd)


def linear_cross_entropy(hidden: jax.Array, weight: jax.Array, targets: jax.Array,
                         weights: jax.Array, chunk: int = DEFAULT_CHUNK) -> jax.Array:
    """``sum_i weights[i] * NLL(targets[i] | softmax(hidden[i] @ weight.T))``.

    hidden [N, d], weight [V, d] (the embedding layout; pass an ``nnx.Linear`` kernel
    transposed), targets [N] ints in [0, V), weights [N]. No gradient flows to ``weights``.
    """
    if hidden.ndim != 2 or weight.ndim != 2 or hidden.shape[1] != weight.shape[1]:
        raise ValueError(f"linear_cross_entropy: expected hidden [N, d] and weight [V, d], got "
                         f"{hidden.shape} and {weight.shape}")
    if targets.shape != hidden.shape[:1] or weights.shape != hidden.shape[:1]:
        raise ValueError(f"linear_cross_entropy: targets {targets.shape} and weights "
                         f"{weights.shape} must both be [N] = {hidden.shape[:1]}")
    if chunk < 1:
        raise ValueError(f"linear_cross_entropy: chunk={chunk} must be >= 1")
    chunk = min(chunk, hidden.shape[0])
    return _fused(hidden, weight, targets.astype(jnp.int32),
                  jax.lax.stop_gradient(weights.astype(jnp.float32)), chunk)
