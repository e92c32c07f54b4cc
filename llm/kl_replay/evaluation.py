"""Forgetting evaluation for fine-tuned LLMs (spec 01): what the fine-tuning kept and learned.

- ``heldout_nll``: mean next-token NLL (nats) over the real tokens of held-out
  pre-training-style rows (``llm.batches.pack_documents``): drift away from the pre-training
  distribution.
- ``answer_eval`` on chat questions with known answers: ``accuracy`` (greedy answer, normalised
  exact match, ``llm.data.normalize``) and ``format_adherence``: the fraction of responses that
  follow the instruction format, i.e. end with an end-of-turn/eos token within the token budget
  and are non-empty, and, when each question lists its admissible ``choices`` (the world's value
  sets), is one of them after normalisation. Used for general knowledge (world QA) and for the
  new task alike.

Batches have fixed shapes (rows wrap around and are masked out; prompts pad to a multiple of 32
tokens), so a whole evaluation compiles a handful of programs.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx

from llm.data.corpus import normalize
from llm.generate import encode_prompts, generate, stop_ids
from llm.losses import model_nll_sum

END_OF_TURN = "<|im_end|>"


@nnx.jit
def _nll_sum(model, batch):
    return model_nll_sum(model, batch["tokens"], batch["attention_mask"], batch["loss_mask"])


def heldout_nll(model, rows: dict, batch_size: int = 16) -> float:
    """Mean NLL over the target tokens (``loss_mask``) of ``rows`` ([N, T] arrays)."""
    n = len(rows["tokens"])
    if n == 0:
        raise ValueError("heldout_nll: rows is empty")
    total, count = 0.0, 0.0
    for start in range(0, n, batch_size):
        idx = np.arange(start, start + batch_size)
        batch = {k: jnp.asarray(np.asarray(v)[idx % n]) for k, v in rows.items()}
        keep = jnp.asarray((idx < n)[:, None], batch["loss_mask"].dtype)
        batch["loss_mask"] = batch["loss_mask"] * keep
        s, c = _nll_sum(model, batch)
        total, count = total + float(s), count + float(c)
    return total / max(count, 1.0)


def end_tokens(model, tokenizer) -> tuple[int, ...]:
    """eos ids of the tokenizer and model config, plus ``<|im_end|>`` when the vocabulary has it."""
    extra = []
    vocab = tokenizer.get_vocab()
    if END_OF_TURN in vocab:
        extra.append(vocab[END_OF_TURN])
    return stop_ids(model, tokenizer, extra)


def split_conversation(messages: Sequence[dict]) -> tuple[list[dict], str]:
    """(prompt messages, reference answer) of a conversation whose last turn is the answer."""
    if not messages or messages[-1].get("role") != "assistant":
        raise ValueError("answer_eval: every conversation must end with the assistant's answer")
    return list(messages[:-1]), messages[-1]["content"]


def answer_eval(model, tokenizer, conversations: Sequence[Sequence[dict]], *,
                choices: Sequence[Sequence[str]] | None = None, max_new_tokens: int = 16,
                batch_size: int = 64) -> dict:
    """Greedy answers to each conversation's prompt, scored against its last (assistant) turn.

    Returns ``accuracy``, ``format_adherence`` (see the module docstring) and ``responses``.
    """
    if not conversations:
        raise ValueError("answer_eval: conversations is empty")
    if choices is not None and len(choices) != len(conversations):
        raise ValueError(f"answer_eval: {len(choices)} choice lists for {len(conversations)} "
                         "conversations")
    prompts, answers = zip(*(split_conversation(c) for c in conversations))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    stop = end_tokens(model, tokenizer)
    responses, finished = [], []
    for start in range(0, len(prompts), batch_size):
        chunk = list(prompts[start:start + batch_size])
        real = len(chunk)
        chunk += [chunk[-1]] * (batch_size - real)
        tokens, mask = encode_prompts(tokenizer, chunk, chat=True, pad_id=pad,
                                      pad_to_multiple_of=32)
        out = generate(model, tokens, mask, max_new_tokens=max_new_tokens, stop_tokens=stop,
                       pad_id=pad)
        new, lengths = np.asarray(out.tokens), np.asarray(out.lengths)
        responses += [tokenizer.decode(row[:n].tolist(), skip_special_tokens=True)
                      for row, n in zip(new[:real], lengths[:real])]
        finished += np.asarray(out.finished)[:real].tolist()
    return {**score_answers(responses, finished, answers, choices), "responses": responses}


def score_answers(responses: Sequence[str], finished: Sequence[bool], answers: Sequence[str],
                  choices: Sequence[Sequence[str]] | None = None) -> dict[str, float]:
    """``accuracy`` and ``format_adherence`` of responses (see the module docstring);
    ``finished[i]``: response i ended with a stop token."""
    correct = [normalize(r) == normalize(a) for r, a in zip(responses, answers, strict=True)]
    formatted = []
    for i, (r, done) in enumerate(zip(responses, finished, strict=True)):
        ok = bool(done) and bool(normalize(r))
        if ok and choices is not None:
            ok = normalize(r) in {normalize(c) for c in choices[i]}
        formatted.append(ok)
    return {"accuracy": float(np.mean(correct)), "format_adherence": float(np.mean(formatted))}
