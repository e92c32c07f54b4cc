"""Retrieval-augmented generation baseline for EpMAN (spec 04): retrieve the top-K chunks by
cosine similarity of the same embeddings episodic attention uses, concatenate them in context
order into a short prompt, and let the plain self-attention decoder read [chunks, question].
Unlike EpMAN the chunks are re-encoded together, with no reweighting."""

from __future__ import annotations

import jax.numpy as jnp

from llm.epman import attention as ep
from llm.epman.generate import generate_plain


def rag_prompt(chunks, chunk_mask, scores, top_k: int):
    """Tokens [B, K*C] of the top-K chunks of [B, N, C] in context order, and their mask."""
    n = chunks.shape[1]
    if top_k > n:
        raise ValueError(f"top_k={top_k} is larger than the {n} chunks")
    selected = ep.selection_mask(ep.top_k_indices(scores, top_k), n)
    order, _ = ep.gather_order(selected, top_k)
    rows = jnp.arange(chunks.shape[0])[:, None]
    b = chunks.shape[0]
    return chunks[rows, order].reshape(b, -1), chunk_mask[rows, order].reshape(b, -1)


def generate_rag(model, chunks, chunk_mask, scores, question, top_k: int, max_new_tokens: int):
    """Greedy answers [B, max_new_tokens]: the decoder on [top-K chunks, question]. The chunks
    must be full (no padding): use a context length that is a multiple of the chunk size."""
    prompt, mask = rag_prompt(chunks, chunk_mask, scores, top_k)
    if not bool(mask.all()):
        raise ValueError("generate_rag: a retrieved chunk is padded; use a context length that "
                         "is a multiple of the chunk size")
    return generate_plain(model, jnp.concatenate([prompt, jnp.asarray(question, jnp.int32)], 1),
                          max_new_tokens)
