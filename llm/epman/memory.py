"""EpMAN's episodic memory: chunked context, per-chunk KV caches and chunk key embeddings
(spec 04, "Write"; Chaudhury et al. 2025, arXiv 2502.14280), and the read cache the decoder
attends to.

Write: the context [B, L] is split into N = ceil(L / C) chunks of C tokens (the last one
right-padded with ``pad_id`` and masked). Each chunk is encoded by the decoder on its own, at
positions 0..C-1 (the paper is silent on this; independent chunks make the write cost linear in
L and let a chunk's keys move to any position, since RoPE composes: rotating keys stored at local
position i by an offset p gives exactly the keys of position p + i). The memory keeps, per layer,
the chunk's RoPE'd keys and values, and the mean-pooled final hidden states of its tokens (the
default chunk key embedding).

Read: the chunks chosen by episodic attention are gathered in context order, placed at compact
positions (the m-th read chunk at m*C .. m*C + C - 1, so a read of R chunks never places a key
beyond R*C whatever the context length), their values multiplied by their chunk weight (the
reweighted attention of ``llm.epman.attention``), and returned as an ``llm.KVCache`` with room
for the query and the generated tokens, which ``Qwen.decode`` then extends as usual.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx, struct

from llm.kv_cache import KVCache
from llm.rope import apply_rope, rope_angles


@struct.dataclass
class EpisodicMemory:
    tokens: jax.Array  # [B, N, C] int32
    mask: jax.Array  # [B, N, C] bool, true on real tokens
    keys: tuple[jax.Array, ...]  # per layer [B, N, C, KV, D], RoPE'd at local positions 0..C-1
    values: tuple[jax.Array, ...]  # per layer [B, N, C, KV, D]
    pooled: jax.Array  # [B, N, hidden] mean of the chunk's final hidden states

    @property
    def num_chunks(self) -> int:
        return self.tokens.shape[1]

    @property
    def chunk_size(self) -> int:
        return self.tokens.shape[2]

    @property
    def chunk_valid(self) -> jax.Array:
        return self.mask.any(-1)

    def nbytes(self) -> int:
        """Bytes of the stored KV caches (the full context's, as the spec notes)."""
        return sum(int(x.size) * x.dtype.itemsize for x in (*self.keys, *self.values))


def chunk_tokens(tokens, mask, chunk_size: int, pad_id: int = 0):
    """Split [B, L] tokens and mask into [B, N, C] chunks (the tail right-padded, masked)."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} is invalid: expected an integer >= 1")
    b, length = tokens.shape
    n = -(-length // chunk_size)
    pad = n * chunk_size - length
    tokens = jnp.pad(tokens, ((0, 0), (0, pad)), constant_values=pad_id)
    mask = jnp.pad(mask.astype(bool), ((0, 0), (0, pad)))
    return tokens.reshape(b, n, chunk_size), mask.reshape(b, n, chunk_size)


def encode(model, tokens, mask):
    """Run the decoder on right-padded rows [B, T] from position 0; returns (final hidden
    states [B, T, hidden], per-layer keys, per-layer values [B, T, KV, D]). Uses the model's own
    layers through a fresh ``KVCache``, so the keys are exactly those ``Qwen.decode`` stores."""
    b, t = tokens.shape
    cache = KVCache.init(model.config, b, t, model.dtype)
    am = mask.astype(bool)
    positions = jnp.maximum(jnp.cumsum(am, axis=1) - 1, 0)
    causal = jnp.tril(jnp.ones((t, t), bool))
    attend = causal[None] & am[:, None, :]
    hidden, kvs = model.encode(tokens, positions, attend, cache, jnp.zeros((), jnp.int32))
    return hidden, tuple(k for k, _ in kvs), tuple(v for _, v in kvs)


def mean_pool(hidden, mask):
    """Mean of hidden [..., T, H] over the positions where mask [..., T] is true."""
    m = mask.astype(hidden.dtype)[..., None]
    return (hidden * m).sum(-2) / jnp.maximum(m.sum(-2), 1.0)


def write(model, tokens, mask, chunk_size: int, pad_id: int = 0) -> EpisodicMemory:
    """The episodic memory of contexts [B, L] (differentiable in the model's weights)."""
    chunks, cmask = chunk_tokens(tokens, mask, chunk_size, pad_id)
    b, n, c = chunks.shape
    hidden, keys, values = encode(model, chunks.reshape(b * n, c), cmask.reshape(b * n, c))
    shape = lambda x: x.reshape(b, n, c, *x.shape[2:])
    return EpisodicMemory(tokens=chunks, mask=cmask, keys=tuple(map(shape, keys)),
                          values=tuple(map(shape, values)),
                          pooled=mean_pool(hidden, cmask.reshape(b * n, c)).reshape(b, n, -1))


@nnx.jit(static_argnames=("chunk_size", "pad_id"))
def write_jit(model, tokens, mask, chunk_size: int, pad_id: int = 0) -> EpisodicMemory:
    return write(model, tokens, mask, chunk_size, pad_id)


def read_cache(memory: EpisodicMemory, order, valid, weights, extra: int, theta: float) -> KVCache:
    """A KVCache holding the chunks ``order`` [B, R] (``valid`` [B, R]) of the memory at compact
    positions, values scaled by ``weights`` [B, N], with ``extra`` free slots after them.

    ``lengths`` is set to the position after the last valid read chunk, so the query continues
    right after the read context; unread slots and chunk padding stay invalid."""
    b, r = order.shape
    c = memory.chunk_size
    rows = jnp.arange(b)[:, None]
    offset = (jnp.cumsum(valid, axis=1) - valid.astype(jnp.int32)) * c  # [B, R]
    cos, sin = rope_angles(jnp.repeat(offset, c, axis=1), memory.keys[0].shape[-1], theta)
    w = jnp.where(valid, weights[rows, order], 0.0)  # [B, R]
    tok_valid = (memory.mask[rows, order] & valid[..., None]).reshape(b, r * c)

    def place(x, rotate):
        x = x[rows, order].reshape(b, r * c, *x.shape[3:])
        x = apply_rope(x, cos, sin) if rotate else x * jnp.repeat(w, c, axis=1)[..., None, None]
        return jnp.pad(x, ((0, 0), (0, extra), (0, 0), (0, 0)))

    keys = tuple(place(k, True) for k in memory.keys)
    values = tuple(place(v, False).astype(v.dtype) for v in memory.values)
    return KVCache(keys=keys, values=values,
                   valid=jnp.pad(tok_valid, ((0, 0), (0, extra))),
                   lengths=(valid.sum(1) * c).astype(jnp.int32),
                   index=jnp.asarray(r * c, jnp.int32))
