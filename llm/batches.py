"""Training batches: chat conversations for SFT, packed documents for pre-training.

Every batch is a dict of int32 NumPy arrays [B, T]: ``tokens``, ``attention_mask`` (1 = token,
0 = padding) and ``loss_mask`` (1 = this token is a target; see ``llm.losses``).

SFT masking is derived from the tokenizer's own chat template, with no template-specific
parsing: the text before assistant turn i is the template rendered for ``messages[:i]`` with the
generation prompt, the text through the turn is the template rendered for ``messages[:i+1]``;
the characters in between, less trailing whitespace, are the response (its content and the
end-of-turn token, e.g. ``content<|im_end|>``; the newline after ``<|im_end|>`` is not a
target, as in templates that mark the response with ``{% generation %}``). Each piece is
tokenized on its own, so the prompt tokens are exactly those a model sees at generation time
after ``apply_chat_template(..., add_generation_prompt=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _render(tokenizer, messages, generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False,
                                         add_generation_prompt=generation_prompt)


def _encode(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def _check_messages(messages) -> None:
    if not messages:
        raise ValueError("messages is empty: an SFT example needs at least one assistant turn")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise ValueError(f"messages[{i}]={m!r}: expected a dict with 'role' and 'content'")
    if not any(m["role"] == "assistant" for m in messages):
        raise ValueError("messages has no assistant turn: there is nothing to train on")


def sft_example(tokenizer, messages: Sequence[dict], max_len: int, *,
                truncate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Token ids [n] and loss mask [n] (1 on assistant response tokens) for one conversation.

    ``messages`` are chat messages ({"role", "content"}). An example longer than ``max_len``
    raises ValueError, or with ``truncate=True`` keeps its first ``max_len`` tokens.
    """
    if max_len < 2:
        raise ValueError(f"max_len={max_len}: expected at least 2 tokens")
    _check_messages(messages)
    full = _render(tokenizer, messages, False)
    cuts, targets = [0], []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:i], True)
        through = _render(tokenizer, messages[: i + 1], False)
        for name, text in (("messages[:i] + generation prompt", before),
                           ("messages[:i+1]", through)):
            if not full.startswith(text) or len(text) < cuts[-1]:
                raise ValueError(
                    f"the chat template's rendering of {name} (i={i}) is not a prefix of the "
                    "whole conversation's rendering, so the response span cannot be found; this "
                    "template re-renders earlier turns (e.g. it drops past reasoning)")
        end = max(len(through.rstrip()), len(before))
        cuts += [len(before), end]
        targets.append(len(cuts) - 2)  # segment index of this response
    cuts.append(len(full))
    tokens, mask = [], []
    for s in range(len(cuts) - 1):
        ids = _encode(tokenizer, full[cuts[s]:cuts[s + 1]])
        tokens += ids
        mask += [int(s in targets)] * len(ids)
    if len(tokens) > max_len:
        if not truncate:
            raise ValueError(f"the conversation is {len(tokens)} tokens long, more than "
                             f"max_len={max_len}; raise max_len or pass truncate=True")
        tokens, mask = tokens[:max_len], mask[:max_len]
    return np.asarray(tokens, np.int32), np.asarray(mask, np.int32)


def sft_batch(tokenizer, conversations: Sequence[Sequence[dict]], max_len: int,
              pad_id: int | None = None, *, truncate: bool = False) -> dict[str, np.ndarray]:
    """Right-padded SFT batch [len(conversations), max_len] (pad_id defaults to the tokenizer's)."""
    if not conversations:
        raise ValueError("conversations is empty")
    if pad_id is None:
        pad_id = tokenizer.pad_token_id
        if pad_id is None:
            raise ValueError("pad_id=None and the tokenizer has no pad_token_id: pass pad_id")
    examples = [sft_example(tokenizer, c, max_len, truncate=truncate) for c in conversations]
    return _right_pad([t for t, _ in examples], [m for _, m in examples], max_len, pad_id)


def _right_pad(token_rows, mask_rows, width: int, pad_id: int) -> dict[str, np.ndarray]:
    tokens = np.full((len(token_rows), width), pad_id, np.int32)
    attention = np.zeros((len(token_rows), width), np.int32)
    loss = np.zeros((len(token_rows), width), np.int32)
    for i, (t, m) in enumerate(zip(token_rows, mask_rows)):
        tokens[i, : len(t)] = t
        attention[i, : len(t)] = 1
        loss[i, : len(t)] = m
    return {"tokens": tokens, "attention_mask": attention, "loss_mask": loss}


def pack_documents(token_lists: Sequence[Sequence[int]], seq_len: int, eos_id: int, *,
                   pad_id: int | None = None,
                   drop_remainder: bool = False) -> dict[str, np.ndarray]:
    """Pre-training rows [N, seq_len]: documents concatenated, each followed by ``eos_id``.

    The stream is cut into consecutive rows (GPT-style packing: attention is not blocked at
    document boundaries; the EOS separator tells the model a new document starts). Every real
    token is a target. The last, partial row is padded with ``pad_id`` (default ``eos_id``)
    and masked out, or dropped with ``drop_remainder=True``.
    """
    if seq_len < 2:
        raise ValueError(f"seq_len={seq_len}: expected at least 2 tokens per row")
    if not token_lists:
        raise ValueError("token_lists is empty: nothing to pack")
    stream = np.concatenate([np.append(np.asarray(d, np.int64), eos_id) for d in token_lists])
    full = len(stream) // seq_len
    rows = [stream[i * seq_len:(i + 1) * seq_len] for i in range(full)]
    if len(stream) % seq_len and not drop_remainder:
        rows.append(stream[full * seq_len:])
    if not rows:
        raise ValueError(f"the {len(stream)} tokens (with separators) do not fill one row of "
                         f"seq_len={seq_len} and drop_remainder=True")
    batch = _right_pad(rows, [np.ones(len(r), np.int32) for r in rows], seq_len,
                       eos_id if pad_id is None else pad_id)
    return batch
