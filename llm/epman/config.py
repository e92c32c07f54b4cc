"""Settings of EpMAN's episodic memory (spec 04; Chaudhury et al. 2025, arXiv 2502.14280)."""

from __future__ import annotations

import dataclasses

from llm.config import ConfigError

SPANS = ("narrow", "broad")
WEIGHTINGS = ("uniform", "noisy")


@dataclasses.dataclass(frozen=True)
class EpmanConfig:
    """Chunking, retrieval and attention settings; validated on construction (``ConfigError``
    names the field).

    A context of L tokens makes ``ceil(L / chunk_size)`` chunks (the last one right-padded and
    masked). ``top_k`` must not exceed that number: ``check_chunks`` raises otherwise, rather
    than silently attending to fewer chunks.
    """

    chunk_size: int = 32
    """Tokens per episode (spec: 32)."""
    top_k: int = 4
    """Chunks kept by episodic attention (spec: K = 4)."""
    span: str = "narrow"
    """Inference read: ``narrow`` (the top-K chunks) or ``broad`` (each widened by +-1 chunk)."""
    weighting: str = "uniform"
    """Training weights: ``uniform`` (every read chunk weighs 1) or ``noisy`` (the top-K
    scores permuted at random among the selected chunks)."""
    train_broad_prob: float = 0.5
    """Probability that a training example reads the broad span (choice of this repo, where the
    paper is silent: it lets the decoder see the positions a broad read uses at inference)."""
    memory_temperature: float = 0.0
    """Sharpness of a_mem (choice of this repo, where the paper is silent): 0 maps cosine c to
    (1 + c) / 2; T > 0 gives exp((c - best c) / T), 1 for the best chunk and less for the others,
    the sharper the smaller T."""
    center: bool = True
    """Subtract the mean chunk embedding of the context from chunk and query embeddings before
    the cosine (choice of this repo: removes the direction every mean-pooled state shares)."""

    def __post_init__(self):
        for name in ("chunk_size", "top_k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"EpmanConfig.{name}={value!r} is invalid: expected an integer "
                                  ">= 1")
        if self.span not in SPANS:
            raise ConfigError(f"EpmanConfig.span={self.span!r} is invalid: expected one of {SPANS}")
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"EpmanConfig.weighting={self.weighting!r} is invalid: expected one "
                              f"of {WEIGHTINGS}")
        if not (isinstance(self.memory_temperature, (int, float))
                and not isinstance(self.memory_temperature, bool)
                and 0.0 <= self.memory_temperature < float("inf")):
            raise ConfigError(f"EpmanConfig.memory_temperature={self.memory_temperature!r} is "
                              "invalid: expected a finite number >= 0")
        if not 0.0 <= self.train_broad_prob <= 1.0:
            raise ConfigError(f"EpmanConfig.train_broad_prob={self.train_broad_prob!r} is "
                              "invalid: expected a probability in [0, 1]")

    def num_chunks(self, context_len: int) -> int:
        return -(-context_len // self.chunk_size)

    def check_chunks(self, context_len: int) -> int:
        """The number of chunks of a context of ``context_len`` tokens; raises ConfigError when
        the context is empty or top_k exceeds it."""
        if context_len < 1:
            raise ConfigError(f"context length {context_len} is invalid: expected >= 1 token")
        n = self.num_chunks(context_len)
        if self.top_k > n:
            raise ConfigError(f"EpmanConfig.top_k={self.top_k} is larger than the {n} chunks of a "
                              f"{context_len}-token context (chunk_size={self.chunk_size})")
        return n

    def read_chunks(self, num_chunks: int, span: str) -> int:
        """Static number of chunk slots a read of ``span`` gathers: K, or min(N, 3K) broad."""
        return self.top_k if span == "narrow" else min(num_chunks, 3 * self.top_k)
