"""The synthetic world and its corpus: determinism, coverage, separation of questions, scoring."""

import re
from collections import defaultdict

import pytest

from llm.data import (
    ATTRIBUTES,
    QA,
    accuracy,
    answer_matches,
    chance_accuracy,
    conversations,
    make_world,
    pretraining_documents,
    qa_pairs,
)


@pytest.fixture(scope="module")
def world():
    return make_world(seed=3, num_entities=60, heldout_fraction=0.25)


@pytest.fixture(scope="module")
def documents(world):
    return pretraining_documents(world, seed=5)


def test_same_seed_same_world_and_documents_different_seed_different(world, documents):
    again = make_world(seed=3, num_entities=60, heldout_fraction=0.25)
    assert again == world
    assert pretraining_documents(again, seed=5) == documents
    assert qa_pairs(again, again.heldout, seed=1) == qa_pairs(world, world.heldout, seed=1)
    other = make_world(seed=4, num_entities=60, heldout_fraction=0.25)
    assert [e.name for e in other.entities] != [e.name for e in world.entities]
    assert pretraining_documents(world, seed=6) != documents


def test_entities_unique_with_one_value_per_attribute_from_its_set(world):
    names = [e.name for e in world.entities]
    assert len({n.lower() for n in names}) == len(names) == 60
    assert len(world.attributes) >= 5
    for entity in world.entities:
        assert set(entity.facts) == {a.name for a in world.attributes}
        for a in world.attributes:
            assert entity.facts[a.name] in a.values


def test_value_sets_sized_and_values_unique_across_attributes():
    all_values = [v for a in ATTRIBUTES for v in a.values]
    assert len(set(all_values)) == len(all_values)
    for a in ATTRIBUTES:
        assert 8 <= len(a.values) <= 24, a.name
        assert len(a.sentences) >= 4 and len(a.questions) >= 3, a.name


def test_train_and_heldout_disjoint_and_covering(world):
    train = {e.name for e in world.train}
    heldout = {e.name for e in world.heldout}
    assert not train & heldout
    assert train | heldout == {e.name for e in world.entities}
    assert len(heldout) == 15


def test_every_fact_stated_in_at_least_two_surface_forms(world, documents):
    assert len(documents) == 4 * len(world.entities)
    forms = defaultdict(set)  # (entity, attribute) -> sentence shapes stating the fact
    value_attribute = {v: a.name for a in world.attributes for v in a.values}
    names = {e.name for e in world.entities}
    for doc in documents:
        for sentence in re.split(r"(?<=\.) ", doc):
            words = set(re.findall(r"[\w]+", sentence))
            (name,) = words & names
            (value,) = words & set(value_attribute)
            shape = re.sub(rf"\b{name}\b", "<N>", re.sub(rf"\b{value}\b", "<V>", sentence))
            forms[name, value_attribute[value]].add((value, shape))
    for entity in world.entities:
        for a in world.attributes:
            stated = forms[entity.name, a.name]
            assert {v for v, _ in stated} == {entity.facts[a.name]}, (entity.name, a.name)
            assert len(stated) >= 2, (entity.name, a.name, stated)


def test_fact_order_varies_between_documents_of_an_entity(world, documents):
    entity = world.entities[0]
    attribute_of = {v: a for a, v in entity.facts.items()}
    orders = set()
    for doc in documents:
        if re.search(rf"\b{entity.name}\b", doc):
            words = re.findall(r"\w+", doc)
            orders.add(tuple(attribute_of[w] for w in words if w in attribute_of))
    assert len(orders) >= 2
    assert all(sorted(order) == sorted(entity.facts) for order in orders)


def test_no_question_appears_in_pretraining_text(world, documents):
    text = "\n".join(documents)
    questions = qa_pairs(world, world.entities, seed=0, per_fact=3)
    assert len({q.question for q in questions}) == len(questions)
    for qa in questions:
        assert qa.question not in text
        assert qa.question.rstrip("?") not in text


def test_qa_answers_are_the_facts_and_conversations_wrap_them(world):
    qas = qa_pairs(world, world.heldout, seed=2)
    assert len(qas) == len(world.heldout) * len(world.attributes)
    facts = {e.name: e.facts for e in world.entities}
    for qa in qas:
        assert qa.answer == facts[qa.entity][qa.attribute]
        assert qa.entity in qa.question
        assert qa.answer in qa.choices
    chats = conversations(qas[:2], system="Answer briefly.")
    assert chats[0] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": qas[0].question},
        {"role": "assistant", "content": qas[0].answer},
    ]
    assert conversations(qas[:1])[0][0]["role"] == "user"


def test_chance_accuracy_on_tiny_world():
    tiny = make_world(seed=0, num_entities=4, heldout_fraction=0.5,
                      attributes=["colour", "language"])
    qas = qa_pairs(tiny, tiny.entities, seed=0)
    assert len(qas) == 8
    # colour has 12 values, language 8: (4/12 + 4/8) / 8 = 5/48.
    assert chance_accuracy(qas) == pytest.approx(5 / 48)


def test_scoring_accepts_right_answer_rejects_wrong():
    qa = QA("Where does Veltaro live?", "Quessa", "Veltaro", "city", ("Quessa", "Dorvik"))
    for right in ["Quessa", " quessa.", "Quessa<|im_end|>\n<|im_start|>user", "Quessa\nbecause",
                  "QUESSA<|endoftext|>junk"]:
        assert answer_matches(right, qa), right
    for wrong in ["Dorvik", "", "Quessa Dorvik", "Quessar", "<|im_end|>Quessa", "In Quessa"]:
        assert not answer_matches(wrong, qa), wrong
    assert accuracy(["Quessa", "Dorvik"], [qa, qa]) == 0.5


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: make_world(0, num_entities=1), "num_entities"),
        (lambda: make_world(0, num_entities=10, heldout_fraction=1.0), "heldout_fraction"),
        (lambda: make_world(0, num_entities=2, heldout_fraction=0.1), "heldout_fraction"),
        (lambda: make_world(0, attributes=["shoe size"]), "attributes"),
        (lambda: make_world(-1), "seed"),
        (lambda: pretraining_documents(make_world(0, 4), 0, paraphrases=0), "paraphrases"),
        (lambda: qa_pairs(make_world(0, 4), make_world(0, 4).train, 0, per_fact=0), "per_fact"),
        (lambda: chance_accuracy([]), "qa_list"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call, field):
    with pytest.raises(ValueError, match=field):
        call()
