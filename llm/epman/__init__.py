"""EpMAN: episodic memory attention for long contexts (Chaudhury, Das et al., ACL 2025,
arXiv 2502.14280; spec 04): chunked episodic memory with per-chunk KV caches, cosine top-K
episodic attention, the reweighted decoder attention, uniform/noisy training, narrow/broad
reads, generation from the stored cache, a RAG baseline and generated long-context tasks."""

from llm.epman import tasks
from llm.epman.attention import (
    broad_mask,
    chunk_weights,
    cosine_scores,
    memory_weights,
    top_k_indices,
    weighted_attention,
    widen_weights,
)
from llm.epman.config import EpmanConfig
from llm.epman.embedders import EMBEDDERS, DecoderEmbedder, MiniLMEmbedder
from llm.epman.generate import generate_epman, generate_plain, greedy_continue
from llm.epman.memory import EpisodicMemory, chunk_tokens, read_cache, write, write_jit
from llm.epman.rag import generate_rag, rag_prompt
from llm.epman.read import episodic_cache, select
from llm.epman.training import epman_loss, self_attention_loss, train_step

__all__ = [
    "EMBEDDERS",
    "DecoderEmbedder",
    "EpisodicMemory",
    "EpmanConfig",
    "MiniLMEmbedder",
    "broad_mask",
    "chunk_tokens",
    "chunk_weights",
    "cosine_scores",
    "episodic_cache",
    "epman_loss",
    "generate_epman",
    "generate_plain",
    "generate_rag",
    "greedy_continue",
    "memory_weights",
    "rag_prompt",
    "read_cache",
    "select",
    "self_attention_loss",
    "tasks",
    "top_k_indices",
    "train_step",
    "weighted_attention",
    "widen_weights",
    "write",
    "write_jit",
]
