"""Which chunks a query reads and with what weights: episodic attention (cosine, top-K), the
narrow/broad spans and the uniform/noisy chunk weights (spec 04, "Read" and "Training
variants"), assembled into the read cache the decoder attends to."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from llm.epman import attention as ep
from llm.epman.memory import EpisodicMemory, read_cache


def select(scores, chunk_valid, top_k: int, broad, slots: int, *, weighting: str = "uniform",
           train: bool = False, shuffle: bool = False, key=None, temperature: float = 0.0):
    """(order [B, slots], valid [B, slots], weights [B, N]) of the chunks read per row.

    ``broad`` [B] bool widens a row's top-K to the neighbours. Weights: a_mem at inference,
    1 (``uniform``) or permuted a_mem (``noisy``) in training; ``shuffle`` permutes a_mem among
    the selected chunks at inference too (a perturbed retriever ranking); ``temperature`` the
    sharpness of a_mem (``llm.epman.attention.memory_weights``)."""
    n = scores.shape[1]
    indices = ep.top_k_indices(scores, top_k)
    selected = ep.selection_mask(indices, n)
    if shuffle:  # a_mem permuted among the selected chunks, as in noisy training
        weighting, train = "noisy", True
    weights = ep.chunk_weights(scores, indices, weighting=weighting, key=key, train=train,
                               temperature=temperature)
    broad = jnp.asarray(broad, bool).reshape(-1)[:, None]
    read = jnp.where(broad, ep.broad_mask(selected) & chunk_valid, selected)
    weights = jnp.where(broad, ep.widen_weights(weights, selected), weights)
    order, valid = ep.gather_order(read, slots)
    return order, valid, weights


def episodic_cache(model, memory: EpisodicMemory, chunk_emb, query_emb, *, top_k: int, broad,
                   slots: int, extra: int, center: bool, weighting: str = "uniform",
                   train: bool = False, shuffle: bool = False, key=None,
                   temperature: float = 0.0):
    """The ``llm.KVCache`` of the chunks a query reads (values reweighted, compact positions)
    with ``extra`` free slots for the query and its continuation."""
    valid_chunks = memory.chunk_valid
    scores = ep.cosine_scores(jax.lax.stop_gradient(query_emb),
                              jax.lax.stop_gradient(chunk_emb), center=center,
                              chunk_valid=valid_chunks)
    order, valid, weights = select(scores, valid_chunks, top_k, broad, slots, weighting=weighting,
                                   train=train, shuffle=shuffle, key=key,
                                   temperature=temperature)
    return read_cache(memory, order, valid, weights, extra, model.config.rope_theta)
