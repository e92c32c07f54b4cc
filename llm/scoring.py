"""Log-likelihood of completions given prompts: multiple-choice scoring and held-out NLL."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx

from llm.losses import token_nll


@nnx.jit
def _completion_logprob(model, tokens, attention_mask, target_mask):
    nll = token_nll(model(tokens, attention_mask=attention_mask), tokens)
    return -(nll * target_mask[:, 1:]).sum(axis=1), target_mask[:, 1:].sum(axis=1)


def completion_logprobs(model, prompts: Sequence[Sequence[int]],
                        completions: Sequence[Sequence[int]], *, batch_size: int = 64,
                        pad_id: int = 0, bucket: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Sum of log p(completion | prompt) and completion length, per pair.

    Pairs are right-padded into batches whose length is rounded up to ``bucket`` tokens, so only
    a handful of shapes compile. Every completion must be non-empty.
    """
    if len(prompts) != len(completions):
        raise ValueError(f"prompts ({len(prompts)}) and completions ({len(completions)}) must "
                         "have the same length")
    if any(len(c) == 0 for c in completions):
        raise ValueError("completions: every completion needs at least one token")
    sums, counts = [], []
    for start in range(0, len(prompts), batch_size):
        rows = [list(p) + list(c) for p, c in zip(prompts[start:start + batch_size],
                                                  completions[start:start + batch_size])]
        width = -(-max(map(len, rows)) // bucket) * bucket
        tokens = np.full((batch_size, width), pad_id, np.int32)
        mask = np.zeros((batch_size, width), np.int32)
        target = np.zeros((batch_size, width), np.float32)
        for i, (row, p) in enumerate(zip(rows, prompts[start:start + batch_size])):
            tokens[i, :len(row)] = row
            mask[i, :len(row)] = 1
            target[i, len(p):len(row)] = 1
        s, n = _completion_logprob(model, jnp.asarray(tokens), jnp.asarray(mask),
                                   jnp.asarray(target))
        sums.append(np.asarray(s)[:len(rows)])
        counts.append(np.asarray(n)[:len(rows)])
    return np.concatenate(sums), np.concatenate(counts)


def choose(model, prompts: Sequence[Sequence[int]],
           choices: Sequence[Sequence[Sequence[int]]], **kw) -> np.ndarray:
    """Index of the most likely choice (summed log-probability) for each prompt."""
    flat_p = [p for p, cs in zip(prompts, choices) for _ in cs]
    flat_c = [c for cs in choices for c in cs]
    scores, _ = completion_logprobs(model, flat_p, flat_c, **kw)
    out, i = [], 0
    for cs in choices:
        out.append(int(np.argmax(scores[i:i + len(cs)])))
        i += len(cs)
    return np.asarray(out)
