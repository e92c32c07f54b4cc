"""Seeded long-context tasks for EpMAN's small-scale reproduction (spec 04, after the paper's
needle-in-a-haystack, LV-Eval FactRecall and single-hop QA benchmarks), at any length.

Word-level vocabulary (``VOCAB``: special tokens, filler words, invented names, digits and the
few words of facts and questions); a context is exactly ``length`` tokens of random filler
words with facts inserted; the question and answer have fixed lengths:

    fact      "code of <name> is <d1> <d2> ."          (7 tokens)
    question  "what code of <name> ?"                  (5 tokens)
    answer    "<d1> <d2>"                              (2 tokens; chance 1/100)

- ``needle``: one fact at a uniformly random place in the haystack.
- ``recall``: the asked fact among ``1 + length // 64`` facts about distinct other names
  (distractors with the same relation, as in FactRecall).
- ``straddle``: one fact placed so that a chunk border (a multiple of ``chunk_size``) falls at a
  uniformly random point inside it (between its first and last token), so the fact, and often
  the answer, spans two chunks.
"""

from __future__ import annotations

import dataclasses

import numpy as np

TASKS = ("needle", "recall", "straddle")
SPECIALS = ("<pad>", ".", "?")
FILLER = tuple("""the a an and or but so then when where while after before over under about
into onto with without from to in on at by for this that these those there here some many few
more most other such only same very just also still even much well back down up out off again
once far near long small big old new good bad day night year time way man house field river
hill road tree stone wind rain light dark cold warm""".split())
NAMES = tuple(f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "su", "ti")
              for b in ("bar", "dex", "fin", "gol", "mor", "pel", "rin", "zut"))
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
WORDS = ("what", "code", "of", "is")
VOCAB = SPECIALS + FILLER + NAMES + DIGITS + WORDS
ID = {w: i for i, w in enumerate(VOCAB)}
PAD_ID = ID["<pad>"]
FACT_LEN, QUESTION_LEN, ANSWER_LEN = 7, 5, 2
_FILLER_IDS = np.array([ID[w] for w in FILLER])
_NAME_IDS = np.array([ID[w] for w in NAMES])
_DIGIT_IDS = np.array([ID[w] for w in DIGITS])


def detokenize(ids) -> str:
    """Text of word ids (padding dropped)."""
    return " ".join(VOCAB[i] for i in ids if i != PAD_ID)


@dataclasses.dataclass(frozen=True)
class TaskBatch:
    context: np.ndarray  # [B, length] int32
    question: np.ndarray  # [B, 5] int32
    answer: np.ndarray  # [B, 2] int32
    fact_start: np.ndarray  # [B] position of the asked fact in the context


def _fact(name: int, digits: np.ndarray) -> list[int]:
    return [ID["code"], ID["of"], int(name), ID["is"], *map(int, digits), ID["."]]


def _insert(filler: np.ndarray, facts: list[list[int]], points: list[int]):
    """Insert facts at filler offsets (ascending order kept); returns tokens and fact starts."""
    out, starts, prev = [], [], 0
    for fact, at in sorted(zip(facts, points), key=lambda x: x[1]):
        out.extend(filler[prev:at].tolist())
        starts.append(len(out))
        out.extend(fact)
        prev = at
    out.extend(filler[prev:].tolist())
    return out, starts


def make_batch(task: str, batch: int, length: int, seed: int, *, chunk_size: int = 32) -> TaskBatch:
    """``batch`` examples of ``task`` with contexts of exactly ``length`` tokens (seeded)."""
    if task not in TASKS:
        raise ValueError(f"task={task!r} is invalid: expected one of {TASKS}")
    facts_needed = 1 + length // 64 if task == "recall" else 1
    if isinstance(length, bool) or not isinstance(length, int) or length < FACT_LEN * facts_needed:
        raise ValueError(f"length={length!r} is invalid: a {task} context needs at least "
                         f"{FACT_LEN * facts_needed} tokens")
    if facts_needed > len(NAMES):
        raise ValueError(f"length={length} needs {facts_needed} recall facts, more than the "
                         f"{len(NAMES)} names; use length < {64 * len(NAMES)}")
    if task == "straddle" and (chunk_size < 2 or length < chunk_size + FACT_LEN):
        raise ValueError(f"chunk_size={chunk_size} is invalid for straddle at length={length}: "
                         "expected 2 <= chunk_size <= length - 7")
    rng = np.random.default_rng([seed, TASKS.index(task), length])
    ctx = np.empty((batch, length), np.int32)
    fact_start = np.empty(batch, np.int64)
    question = np.empty((batch, QUESTION_LEN), np.int32)
    answer = np.empty((batch, ANSWER_LEN), np.int32)
    for b in range(batch):
        names = rng.choice(_NAME_IDS, facts_needed, replace=False)
        digits = rng.choice(_DIGIT_IDS, (facts_needed, ANSWER_LEN))
        facts = [_fact(n, d) for n, d in zip(names, digits)]
        filler = rng.choice(_FILLER_IDS, length - FACT_LEN * facts_needed)
        if task == "straddle":
            cut = int(rng.integers(1, min(FACT_LEN, chunk_size + 1)))  # fact tokens before it
            borders = np.arange(chunk_size, length - FACT_LEN + cut + 1, chunk_size)
            start = int(rng.choice(borders)) - cut
            points = [start]
        else:
            points = sorted(rng.integers(0, len(filler) + 1, facts_needed).tolist())
        tokens, starts = _insert(filler, facts, points)
        ask = int(rng.integers(facts_needed))
        order = sorted(range(facts_needed), key=lambda i: points[i])
        ctx[b] = tokens
        fact_start[b] = starts[order.index(ask)]
        question[b] = [ID["what"], ID["code"], ID["of"], int(names[ask]), ID["?"]]
        answer[b] = digits[ask]
    return TaskBatch(ctx, question, answer, fact_start)
