"""A static key/value cache for batched, left-padded decoding under jit.

Every sequence of the batch owns ``max_len`` slots per layer. Slot ``i`` is written at step
``index``; ``valid`` marks slots holding a real token (left padding stays invalid forever), and
``lengths`` counts each sequence's real tokens, which gives the RoPE position of the next one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from llm.config import QwenConfig


@struct.dataclass
class KVCache:
    keys: tuple[jax.Array, ...]  # per layer [B, max_len, kv_heads, head_dim]
    values: tuple[jax.Array, ...]
    valid: jax.Array  # [B, max_len] bool
    lengths: jax.Array  # [B] int32, real tokens so far
    index: jax.Array  # int32 scalar, next slot to write

    @classmethod
    def init(cls, config: QwenConfig, batch: int, max_len: int, dtype=jnp.float32) -> KVCache:
        shape = (batch, max_len, config.num_key_value_heads, config.head_dim)
        zeros = tuple(jnp.zeros(shape, dtype) for _ in range(config.num_hidden_layers))
        return cls(keys=zeros, values=zeros, valid=jnp.zeros((batch, max_len), bool),
                   lengths=jnp.zeros((batch,), jnp.int32), index=jnp.zeros((), jnp.int32))

    @property
    def max_len(self) -> int:
        return self.valid.shape[1]
