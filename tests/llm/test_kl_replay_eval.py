"""Forgetting evaluation and the tiny world's new task / replay text (llm.kl_replay)."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import llm
from llm import data as world_data
from llm.kl_replay import (
    REPLAY_SENTENCES,
    heldout_nll,
    replay_documents,
    score_answers,
    skill_examples,
)
from llm.kl_replay.world_tasks import ECHO_PROMPTS


def test_score_answers_by_hand():
    responses = [" Quessa", "quessa.", "Dorvik", "", "Bo and Ada"]
    finished = [True, True, False, True, True]
    answers = [" Quessa", "Quessa", "Dorvik", "x", "Bo and Ada"]
    choices = [("Quessa", "Dorvik")] * 4 + [("Ada",)]
    got = score_answers(responses, finished, answers, choices)
    # correct: 0, 1, 2, 4; formatted: 0 and 1 only (2 never ended, 3 empty, 4 not a choice)
    assert got == {"accuracy": 4 / 5, "format_adherence": 2 / 5}
    assert score_answers(responses, finished, answers)["format_adherence"] == 3 / 5


def test_heldout_nll_matches_numpy():
    cfg = llm.QwenConfig(vocab_size=23, hidden_size=16, intermediate_size=24,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=16, tie_word_embeddings=True)
    model = llm.Qwen(cfg, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(0)
    rows = llm.pack_documents([rng.integers(1, 22, n).tolist() for n in (5, 9, 7, 11)], 8, 22)
    logits = np.asarray(model(jnp.asarray(rows["tokens"]),
                              attention_mask=jnp.asarray(rows["attention_mask"])), np.float64)
    lp = logits[:, :-1] - np.log(np.exp(logits[:, :-1]).sum(-1, keepdims=True))
    nll = -np.take_along_axis(lp, rows["tokens"][:, 1:, None], -1)[..., 0]
    w = rows["loss_mask"][:, 1:]
    # batch_size 3 over 5 rows: the wrapped-around rows of the last batch must not count
    assert len(rows["tokens"]) % 3
    np.testing.assert_allclose(heldout_nll(model, rows, batch_size=3), (nll * w).sum() / w.sum(),
                               rtol=1e-5)


def test_replay_text_is_about_the_world_but_never_pretraining_sentences():
    world = world_data.make_world(0, num_entities=12)
    docs = replay_documents(world, seed=1, per_entity=2)
    assert len(docs) == 24 and docs == replay_documents(world, seed=1, per_entity=2)
    pretraining = {t for a in world.attributes for t in a.sentences + a.questions}
    assert not pretraining & {t for ts in REPLAY_SENTENCES.values() for t in ts}
    pre_docs = world_data.pretraining_documents(world, 0, 4)
    pre_sentences = {s.strip() for d in pre_docs for s in d.split(". ")}
    for doc in docs:
        assert not {s.strip() for s in doc.split(". ")} & pre_sentences
    entity = world.entities[0]
    mine = [d for d in docs if entity.name in d]
    assert len(mine) == 2
    for value in entity.facts.values():  # every fact of the entity is stated
        assert all(value in d for d in mine)


@pytest.mark.parametrize("task", ["swap", "echo"])
def test_new_task_examples(task):
    world = world_data.make_world(0, num_entities=20)
    train = skill_examples([e.name for e in world.train], 30, seed=0, task=task)  # 15 names
    test = skill_examples([e.name for e in world.heldout], 5, seed=1, task=task)
    heldout = {e.name for e in world.heldout}
    for (user, reply) in train:
        words = reply["content"].split()
        assert reply["content"].startswith(" ") and not heldout & set(words)
        if task == "swap":
            a, b = user["content"].removeprefix("Swap the names: ").rstrip(".").split(" and ")
            assert reply["content"] == f" {b} and {a}"
        else:
            name = reply["content"][1:]
            assert user["content"] in {p.format(name=name) for p in ECHO_PROMPTS}
    assert len({c[0]["content"] for c in train}) == 30
    assert all(set(r["content"].split()) - {"and"} <= heldout for _, r in test)
    with pytest.raises(ValueError, match="count=100"):
        skill_examples(["A", "B"], 100, 0, task=task)
    with pytest.raises(ValueError, match="task="):
        skill_examples(["A", "B"], 1, 0, task="sort")
