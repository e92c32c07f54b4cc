"""Greedy generation that attends to EpMAN's stored cache (spec 04), and the same greedy loop
over a plain prompt for the self-attention and RAG baselines.

The query is prefilled with ``Qwen.decode`` against the read cache (the reweighted KV of the
chunks episodic attention chose, ``llm.epman.read``), then answer tokens are decoded one at a
time with ``lax.scan``; every call is one compiled program per shape.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from llm.epman.embedders import DecoderEmbedder
from llm.epman.memory import EpisodicMemory
from llm.epman.read import episodic_cache
from llm.kv_cache import KVCache


def greedy_continue(model, cache: KVCache, prompt, max_new_tokens: int):
    """Greedy tokens [B, max_new_tokens] continuing ``prompt`` [B, Q] (no padding) after the
    cache; the cache needs Q + max_new_tokens - 1 free slots."""
    logits, cache = model.decode(prompt, cache)
    first = jnp.argmax(logits[:, -1], axis=-1).astype(jnp.int32)

    def step(carry, _):
        cache, last = carry
        logits, cache = model.decode(last[:, None], cache)
        token = jnp.argmax(logits[:, -1], axis=-1).astype(jnp.int32)
        return (cache, token), token

    _, rest = jax.lax.scan(step, (cache, first), None, length=max_new_tokens - 1)
    return jnp.concatenate([first[:, None], rest.T], axis=1)


@functools.partial(nnx.jit, static_argnames=("max_new_tokens",))
def generate_plain(model, prompt, max_new_tokens: int):
    """Greedy continuation of full prompts [B, T] with ordinary self-attention."""
    b, t = prompt.shape
    cache = KVCache.init(model.config, b, t + max_new_tokens - 1, model.dtype)
    return greedy_continue(model, cache, prompt, max_new_tokens)


@functools.partial(nnx.jit, static_argnames=("top_k", "broad", "slots", "center",
                                             "max_new_tokens", "shuffle",
                                             "temperature"))
def _generate_epman(model, memory, query, chunk_emb, query_emb, key, *, top_k, broad, slots,
                    center, max_new_tokens, shuffle, temperature):
    b, q = query.shape
    cache = episodic_cache(model, memory, chunk_emb, query_emb, top_k=top_k,
                           broad=jnp.full((b,), broad), slots=slots,
                           extra=q + max_new_tokens - 1, center=center, shuffle=shuffle, key=key,
                           temperature=temperature)
    return greedy_continue(model, cache, query, max_new_tokens)


def generate_epman(model, memory: EpisodicMemory, query, config, *, span: str = "narrow",
                   max_new_tokens: int = 2, embedder=None, chunk_emb=None, query_emb=None,
                   shuffle: bool = False, key=None):
    """Greedy answers [B, max_new_tokens] to queries [B, Q] from the episodic memory.

    ``config`` is an ``EpmanConfig`` (top_k, center, memory_temperature); ``span`` narrow or
    broad. Chunk keys and the query embedding come from ``embedder`` (default: the decoder's
    mean-pooled states) unless ``chunk_emb`` / ``query_emb`` are given.
    ``shuffle`` permutes a_mem among the selected chunks (a perturbed retriever; needs key)."""
    if span not in ("narrow", "broad"):
        raise ValueError(f"span={span!r} is invalid: expected 'narrow' or 'broad'")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
            or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} is invalid: expected an integer >= 1")
    n = memory.num_chunks
    if config.top_k > n:
        raise ValueError(f"EpmanConfig.top_k={config.top_k} is larger than the memory's {n} "
                         "chunks")
    embedder = DecoderEmbedder() if embedder is None else embedder
    if chunk_emb is None:
        chunk_emb = embedder.chunks(model, memory)
    query = jnp.asarray(query, jnp.int32)
    if query_emb is None:
        query_emb = embedder.query(model, query)
    key = jax.random.key(0) if key is None else key
    return _generate_epman(model, memory, query, chunk_emb, query_emb, key, top_k=config.top_k,
                           broad=span == "broad", slots=config.read_chunks(n, span),
                           center=config.center, max_new_tokens=max_new_tokens, shuffle=shuffle,
                           temperature=config.memory_temperature)
