"""Episodic attention and the reweighted decoder attention of EpMAN (spec 04; Chaudhury et al.,
2025, arXiv 2502.14280).

Read: the cosine similarity between a query embedding and each chunk key is the episodic
attention score; the top-K chunks are selected (``narrow``), optionally widened to their -1/+1
neighbours (``broad``). Each read chunk c gets a weight a_mem[c] and the decoder attends as

    out_i = sum_j softmax_j(q_i . k_j / sqrt(d)) * a_mem[c(j)] * v_j      (no renormalisation),

with weight 1 on the query's own tokens. Since the weight multiplies v_j, the reweighted attention
is plain attention over weighted values, which is how ``weighted_attention`` and the read cache of
``llm.epman.memory`` implement it.

Choices where the paper is silent (documented defaults): a_mem[c] = (1 + cos_c) / 2, in [0, 1]
(or, with a temperature T > 0, exp((cos_c - max_c' cos_c') / T): the softmax over the context's
chunks divided by its largest entry, so the best chunk weighs 1 and the others fall off as sharply
as T asks);
a broad neighbour takes the largest weight of the selected chunks it neighbours; ``noisy``
training permutes the top-K weights at random among the selected chunks (and then widens).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from llm.attention import dot_product_attention


def weighted_attention(q, k, v, mask, weights):
    """sum_j softmax_j(q.k_j/sqrt d) * weights[j] * v_j. q [B,T,H,D]; k, v [B,S,KV,D]; mask
    [B,T,S] bool; weights [B,S] (1 everywhere gives ``llm.attention.dot_product_attention``)."""
    return dot_product_attention(q, k, v * weights[:, :, None, None].astype(v.dtype), mask)


def cosine_scores(query, chunks, *, center: bool = False, chunk_valid=None):
    """Cosine similarity [B, N] of query embeddings [B, E] with chunk embeddings [B, N, E].

    ``center`` subtracts the mean over the (valid) chunks of each context from both first."""
    query, chunks = query.astype(jnp.float32), chunks.astype(jnp.float32)
    if center:
        w = (jnp.ones(chunks.shape[:2]) if chunk_valid is None else chunk_valid).astype(jnp.float32)
        mean = (chunks * w[..., None]).sum(1) / jnp.maximum(w.sum(1), 1.0)[:, None]
        query, chunks = query - mean, chunks - mean[:, None]
    qn = query / jnp.maximum(jnp.linalg.norm(query, axis=-1, keepdims=True), 1e-9)
    cn = chunks / jnp.maximum(jnp.linalg.norm(chunks, axis=-1, keepdims=True), 1e-9)
    scores = jnp.einsum("be,bne->bn", qn, cn)
    return scores if chunk_valid is None else jnp.where(chunk_valid, scores, -2.0)


def top_k_indices(scores, k: int):
    """Indices [B, k] of the k highest scores of each row, best first."""
    return jax.lax.top_k(scores, k)[1]


def selection_mask(indices, num_chunks: int):
    """Bool [B, N], true on the chunks named by indices [B, K]."""
    return jnp.any(indices[..., None] == jnp.arange(num_chunks), axis=1)


def broad_mask(selected):
    """Widen a chunk mask [B, N] to each selected chunk's neighbours -1, 0, +1 (within 0..N-1)."""
    left = jnp.pad(selected[:, 1:], ((0, 0), (0, 1)))    # chunk c+1 selected -> c read
    right = jnp.pad(selected[:, :-1], ((0, 0), (1, 0)))  # chunk c-1 selected -> c read
    return selected | left | right


def memory_weights(scores, temperature: float = 0.0):
    """a_mem per chunk, [B, N]: (1 + cos) / 2 when ``temperature`` is 0, else
    exp((cos - max cos) / temperature) (a softmax over the row's chunks scaled to a maximum of 1;
    invalid chunks, scored -2 by ``cosine_scores``, weigh next to nothing)."""
    if temperature < 0:
        raise ValueError(f"memory_weights: temperature={temperature!r} is invalid: expected >= 0")
    if temperature == 0:
        return (1.0 + scores) / 2.0
    return jnp.exp((scores - scores.max(axis=1, keepdims=True)) / temperature)


def chunk_weights(scores, indices, *, weighting: str = "uniform", key=None, train: bool = False,
                  temperature: float = 0.0):
    """Weights [B, N] of the selected chunks (0 elsewhere).

    At inference (``train=False``) a selected chunk weighs a_mem. In training, ``uniform`` gives
    every selected chunk weight 1 and ``noisy`` gives the selected chunks a random permutation of
    their own a_mem values (``key`` required). ``temperature``: see ``memory_weights``."""
    b, n = scores.shape
    rows = jnp.arange(b)[:, None]
    values = jnp.take_along_axis(memory_weights(scores, temperature), indices, axis=1)
    if train and weighting == "uniform":
        values = jnp.ones_like(values)
    elif train:
        if key is None:
            raise ValueError("chunk_weights: noisy training needs a key")
        keys = jax.random.split(key, b)
        values = jax.vmap(lambda k, v: jax.random.permutation(k, v))(keys, values)
    return jnp.zeros((b, n), values.dtype).at[rows, indices].set(values)


def widen_weights(weights, selected):
    """Broad read weights [B, N]: a selected chunk keeps its weight; a neighbour takes the largest
    weight of the selected chunks beside it; other chunks weigh 0."""
    w = jnp.where(selected, weights, 0.0)
    left = jnp.pad(w[:, 1:], ((0, 0), (0, 1)))
    right = jnp.pad(w[:, :-1], ((0, 0), (1, 0)))
    return jnp.where(selected, w, jnp.maximum(left, right))


def gather_order(read, slots: int):
    """The first ``slots`` read chunks of each row in context order: (indices [B, slots], valid
    [B, slots]); rows with fewer read chunks are filled with invalid slots."""
    order = jnp.argsort(~read, axis=1, stable=True)[:, :slots]
    return order, jnp.take_along_axis(read, order, axis=1)
