"""Generated long-context tasks: exact lengths, the asked fact where it is said to be, seeding,
distractors and chunk-border straddling."""

import numpy as np
import pytest

from llm.epman import tasks
from llm.epman.tasks import ID, VOCAB, make_batch


def _fact_at(context, start):
    return [VOCAB[i] for i in context[start:start + tasks.FACT_LEN]]


@pytest.mark.parametrize("task", tasks.TASKS)
@pytest.mark.parametrize("length", [40, 200])
def test_layout_and_answer(task, length):
    b = make_batch(task, 6, length, seed=3, chunk_size=16)
    assert b.context.shape == (6, length) and b.question.shape == (6, 5)
    assert b.answer.shape == (6, 2)
    for i in range(6):
        name = VOCAB[b.question[i, 3]]
        assert [VOCAB[t] for t in b.question[i]] == ["what", "code", "of", name, "?"]
        want = ["code", "of", name, "is", VOCAB[b.answer[i, 0]], VOCAB[b.answer[i, 1]], "."]
        assert _fact_at(b.context[i], b.fact_start[i]) == want
        assert VOCAB[b.answer[i, 0]] in tasks.DIGITS and VOCAB[b.answer[i, 1]] in tasks.DIGITS
        # the asked name appears in exactly one fact of the context
        assert (b.context[i] == b.question[i, 3]).sum() == 1


def test_seeded():
    a, b = make_batch("recall", 4, 300, seed=1), make_batch("recall", 4, 300, seed=1)
    np.testing.assert_array_equal(a.context, b.context)
    c = make_batch("recall", 4, 300, seed=2)
    assert not np.array_equal(a.context, c.context)


def test_recall_has_distractor_facts_about_other_names():
    length = 640
    b = make_batch("recall", 3, length, seed=0)
    for ctx in b.context:
        names = [t for t in ctx if VOCAB[t] in tasks.NAMES]
        assert len(names) == 1 + length // 64 == len(set(names))
        assert (ctx == ID["is"]).sum() == len(names)


def test_needle_has_one_fact():
    b = make_batch("needle", 5, 500, seed=4)
    assert ((b.context == ID["is"]).sum(1) == 1).all()


@pytest.mark.parametrize("chunk", [4, 16, 32])
def test_straddle_fact_crosses_a_chunk_border(chunk):
    b = make_batch("straddle", 50, 256, seed=5, chunk_size=chunk)
    first, last = b.fact_start // chunk, (b.fact_start + tasks.FACT_LEN - 1) // chunk
    assert (last > first).all()
    if chunk >= tasks.FACT_LEN:
        assert (last == first + 1).all()
    # every cut point inside the fact occurs, so the answer sometimes straddles too
    cuts = set(((first + 1) * chunk - b.fact_start).tolist())
    assert cuts == set(range(1, min(tasks.FACT_LEN, chunk + 1)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="task="):
        make_batch("haystack", 1, 100, 0)
    with pytest.raises(ValueError, match="length="):
        make_batch("needle", 1, 5, 0)
    with pytest.raises(ValueError, match="chunk_size="):
        make_batch("straddle", 1, 20, 0, chunk_size=16)


def test_detokenize_round_trip():
    b = make_batch("needle", 1, 50, 0)
    text = tasks.detokenize(b.question[0])
    assert [ID[w] for w in text.split()] == b.question[0].tolist()
