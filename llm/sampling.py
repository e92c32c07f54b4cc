"""Next-token choice from logits [B, V]: greedy, temperature, and top-p (nucleus) sampling.

Nucleus sampling is Holtzman et al. 2020 ("The Curious Case of Neural Text Degeneration"): keep
the smallest set of most probable tokens whose probability mass reaches ``top_p`` (always at least
the most probable one) and sample from it renormalised. As in Hugging Face's warpers, temperature
is applied first and the nucleus is taken on the tempered distribution. Where the paper is silent
on ties, every token tied with the least probable kept one is kept too (the nucleus then does not
depend on how a sort orders equal logits; Hugging Face keeps an arbitrary subset of the tie).

All functions are pure and jittable; ``temperature`` and ``top_p`` may be traced scalars, so one
compiled program serves every value.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def greedy(logits: jax.Array) -> jax.Array:
    """The most probable token of each row: int32 [B]."""
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)


def apply_temperature(logits: jax.Array, temperature) -> jax.Array:
    """logits / temperature (temperature > 0): sampling then follows softmax(logits / T)."""
    return logits / temperature


def top_p_mask(logits: jax.Array, top_p) -> jax.Array:
    """Bool [B, V], true for the tokens of each row's nucleus at mass ``top_p`` in (0, 1].

    A token is kept when the probability mass of the tokens strictly more probable than it is
    below ``top_p`` (Hugging Face's TopPLogitsWarper removes a token when the ascending cumulative
    mass up to it is <= 1 - top_p, which is the same set). ``top_p >= 1`` keeps every token.
    """
    order = jnp.sort(logits, axis=-1)[..., ::-1]
    probs = jax.nn.softmax(order, axis=-1)
    mass_before = jnp.cumsum(probs, axis=-1) - probs
    kept = (mass_before < top_p).at[..., 0].set(True)
    # The least probable kept logit; everything at or above it is in the nucleus (ties included).
    threshold = jnp.min(jnp.where(kept, order, jnp.inf), axis=-1, keepdims=True)
    return (logits >= threshold) | (top_p >= 1.0)


def top_p_filter(logits: jax.Array, top_p) -> jax.Array:
    """Logits with every token outside the nucleus set to -inf."""
    return jnp.where(top_p_mask(logits, top_p), logits, -jnp.inf)


def sample(key: jax.Array, logits: jax.Array, temperature=1.0, top_p=1.0) -> jax.Array:
    """One token per row, int32 [B]: greedy when ``temperature == 0``, otherwise a draw from
    softmax(logits / temperature) restricted to its top-p nucleus.

    Branches with ``lax.cond``, so greedy decoding never sorts the vocabulary and top_p = 1 never
    builds the nucleus (under ``vmap`` with batched settings both branches run, same result).
    """
    logits = logits.astype(jnp.float32)
    temperature = jnp.asarray(temperature, jnp.float32)
    top_p = jnp.asarray(top_p, jnp.float32)

    def draw(logits):
        tempered = apply_temperature(logits, jnp.where(temperature > 0, temperature, 1.0))
        tempered = jax.lax.cond(top_p < 1, lambda t: top_p_filter(t, top_p), lambda t: t,
                                tempered)
        return jax.random.categorical(key, tempered, axis=-1).astype(jnp.int32)

    return jax.lax.cond(temperature > 0, draw, lambda l: greedy(l).astype(jnp.int32), logits)
