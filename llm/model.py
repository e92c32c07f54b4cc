"""The Qwen2 / Qwen3 causal decoder as a Flax NNX module tree named like Hugging Face's.

``Qwen`` mirrors ``Qwen2ForCausalLM`` / ``Qwen3ForCausalLM``: ``model.embed_tokens``,
``model.layers[i].{input_layernorm, self_attn, post_attention_layernorm, mlp}``, ``model.norm``,
``lm_head`` (None when the embedding is tied). Pre-norm residual blocks, SwiGLU MLP
(down(silu(gate x) * up x)), logits in float32. Linear kernels are [in, out] (Hugging Face's
weight transposed). Initialisation follows Hugging Face: normal(0.02) weights, zero biases,
unit norms.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from llm.attention import Attention
from llm.config import QwenConfig
from llm.fused_linear import fused_linear
from llm.kv_cache import KVCache
from llm.norm import RMSNorm
from llm.products import tied_head_product
from llm.rope import rope_angles


class MLP(nnx.Module):
    """SwiGLU feed-forward: down_proj(silu(gate_proj x) * up_proj x), no biases."""

    def __init__(self, config: QwenConfig, *, rngs, dtype=jnp.float32, param_dtype=jnp.float32):
        linear = functools.partial(nnx.Linear, use_bias=False, dtype=dtype,
                                   param_dtype=param_dtype, rngs=rngs,
                                   kernel_init=nnx.initializers.normal(0.02))
        h, i = config.hidden_size, config.intermediate_size
        self.gate_proj = linear(h, i)
        self.up_proj = linear(h, i)
        self.down_proj = linear(i, h)

    def __call__(self, x):
        gate, up = fused_linear(x, (self.gate_proj, self.up_proj))
        return self.down_proj(jax.nn.silu(gate) * up)


class DecoderLayer(nnx.Module):
    def __init__(self, config: QwenConfig, *, rngs, dtype=jnp.float32, param_dtype=jnp.float32):
        kw = dict(rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps,
                                       param_dtype=param_dtype)
        self.self_attn = Attention(config, **kw)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps,
                                                param_dtype=param_dtype)
        self.mlp = MLP(config, **kw)

    def __call__(self, x, cos, sin, mask, cache_kv=None, index=None, causal=False):
        attn, cache_kv = self.self_attn(self.input_layernorm(x), cos, sin, mask, cache_kv, index,
                                        causal)
        x = x + attn
        return x + self.mlp(self.post_attention_layernorm(x)), cache_kv


class QwenModel(nnx.Module):
    """Embedding, decoder layers and final norm (Hugging Face's ``Qwen2Model``)."""

    def __init__(self, config: QwenConfig, *, rngs, dtype=jnp.float32, param_dtype=jnp.float32):
        self.embed_tokens = nnx.Embed(config.vocab_size, config.hidden_size, dtype=dtype,
                                      param_dtype=param_dtype, rngs=rngs,
                                      embedding_init=nnx.initializers.normal(0.02))
        self.layers = nnx.List([DecoderLayer(config, rngs=rngs, dtype=dtype,
                                             param_dtype=param_dtype)
                                for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps, param_dtype=param_dtype)


class Qwen(nnx.Module):
    """A Qwen2/Qwen3 causal language model.

    ``dtype`` is the computation dtype, ``param_dtype`` the storage dtype (float32 or bfloat16);
    norms and attention softmax always compute in float32 and logits are returned in float32.
    """

    def __init__(self, config: QwenConfig, *, rngs: nnx.Rngs, dtype=jnp.float32,
                 param_dtype=jnp.float32):
        self.config = config
        self.dtype = dtype
        self.model = QwenModel(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        if config.tie_word_embeddings:
            self.lm_head = None
        else:
            self.lm_head = nnx.Linear(config.hidden_size, config.vocab_size, use_bias=False,
                                      dtype=dtype, param_dtype=param_dtype, rngs=rngs,
                                      kernel_init=nnx.initializers.normal(0.02))

    def __call__(self, tokens: jax.Array, *, attention_mask: jax.Array | None = None,
                 positions: jax.Array | None = None) -> jax.Array:
        """Logits [B, T, vocab] (float32) for tokens [B, T].

        attention_mask [B, T]: 1 for tokens, 0 for padding (left or right). Positions default to
        the count of real tokens before each one, so a left-padded row gets the positions it would
        have unpadded.
        """
        return self.logits(self.hidden_states(tokens, attention_mask=attention_mask,
                                              positions=positions))

    def hidden_states(self, tokens, *, attention_mask=None, positions=None) -> jax.Array:
        """The final-norm hidden states [B, T, hidden] that the LM head reads."""
        b, t = tokens.shape
        am = jnp.ones((b, t), bool) if attention_mask is None else attention_mask.astype(bool)
        if positions is None:
            positions = jnp.maximum(jnp.cumsum(am, axis=1) - 1, 0)
        causal = jnp.tril(jnp.ones((t, t), bool))
        mask = causal[None] & am[:, None, :]
        x, _ = self._layers(tokens, positions, mask, None, None, causal=True)
        return x

    def decode(self, tokens: jax.Array, cache: KVCache,
               attention_mask: jax.Array | None = None) -> tuple[jax.Array, KVCache]:
        """Run tokens [B, T] against the cache, appending them; returns (logits, new cache).

        Prefill a left-padded prompt with T = prompt length and its mask, then decode one token
        at a time with T = 1. Positions continue each sequence's count of real tokens.
        """
        b, t = tokens.shape
        am = jnp.ones((b, t), bool) if attention_mask is None else attention_mask.astype(bool)
        index = cache.index
        valid = jax.lax.dynamic_update_slice(cache.valid, am, (jnp.zeros((), jnp.int32), index))
        positions = cache.lengths[:, None] + jnp.cumsum(am, axis=1) - 1
        positions = jnp.maximum(positions, 0)
        slots = index + jnp.arange(t)
        mask = (jnp.arange(cache.max_len)[None, :] <= slots[:, None])[None] & valid[:, None, :]
        x, kvs = self._layers(tokens, positions, mask, cache, index)
        new = KVCache(keys=tuple(k for k, _ in kvs), values=tuple(v for _, v in kvs), valid=valid,
                      lengths=cache.lengths + am.sum(axis=1).astype(jnp.int32), index=index + t)
        return self.logits(x), new

    def lm_head_weight(self) -> jax.Array | None:
        """The LM head as a [vocab, hidden] matrix (the tied embedding or the transposed
        kernel), or None when the head is not a plain linear map (a LoRA-wrapped head, say).
        ``llm.losses.model_nll_sum`` feeds it to the fused cross-entropy."""
        if self.lm_head is None:
            return self.model.embed_tokens.embedding.value
        if type(self.lm_head) is nnx.Linear:
            return self.lm_head.kernel.value.T
        return None

    def logits(self, hidden: jax.Array) -> jax.Array:
        if self.lm_head is None:
            embed = self.model.embed_tokens
            query, embedding = embed.promote_dtype((hidden, embed.embedding[...]),
                                                   dtype=embed.dtype)
            out = tied_head_product(query, embedding)
        else:
            out = self.lm_head(hidden)
        return out.astype(jnp.float32)

    def encode(self, tokens: jax.Array, positions: jax.Array, mask: jax.Array,
               cache: KVCache | None = None, index: jax.Array | None = None):
        """The decoder stack with explicit positions [B, T] and attention mask [B, T, S]:
        (final-norm hidden states [B, T, hidden], per-layer (keys, values)). With ``cache`` the
        new keys/values are written at ``index`` and attention reads the cache (S = its
        length); without, S = T. For systems that build their own caches (``llm.epman``)."""
        return self._layers(tokens, positions, mask, cache, index)

    def _layers(self, tokens, positions, mask, cache, index, causal=False):
        cos, sin = rope_angles(positions, self.config.head_dim, self.config.rope_theta)
        x = self.model.embed_tokens(tokens)
        kvs = []
        for i, layer in enumerate(self.model.layers):
            cache_kv = None if cache is None else (cache.keys[i], cache.values[i])
            x, cache_kv = layer(x, cos, sin, mask, cache_kv, index, causal)
            kvs.append(cache_kv)
        return self.model.norm(x), kvs
