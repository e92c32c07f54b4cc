"""Text rendered from a ``World``: pre-training documents, questions, chat conversations, scoring.

Following Allen-Zhu & Li, "Physics of Language Models: Part 3.1" (2023), knowledge becomes
extractable by questions about unseen entities only when pre-training states each fact in
several paraphrases and orders ("knowledge augmentation"). So ``pretraining_documents`` writes
``paraphrases`` short biographies per entity, each with the facts in a fresh random order and
each fact in a different sentence template (a per-fact permutation of the templates, cycled,
so any two documents about an entity phrase every fact differently when there are enough
templates). Questions use separate templates, all ending in "?", so no question string occurs
in the pre-training text. Answers are the bare value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

import numpy as np

from llm.data.world import Entity, World, check_int

END_TOKENS: tuple[str, ...] = ("<|im_end|>", "<|endoftext|>")


@dataclasses.dataclass(frozen=True)
class QA:
    """One question about one fact; ``choices`` is the attribute's whole value set."""

    question: str
    answer: str
    entity: str
    attribute: str
    choices: tuple[str, ...]


def _rng(seed: int, stream: int) -> np.random.Generator:
    check_int("seed", seed, 0)
    return np.random.default_rng([int(seed), stream])


def pretraining_documents(world: World, seed: int, paraphrases: int = 4) -> list[str]:
    """``paraphrases`` documents per entity (all entities, train and held-out), shuffled.

    Each document states every fact of its entity once, in a random order; document ``j``
    phrases a fact with template ``perm[j % len(templates)]`` of a random per-fact permutation.
    """
    check_int("paraphrases", paraphrases, 1)
    rng = _rng(seed, 0)
    documents = []
    for entity in world.entities:
        orders = {a.name: rng.permutation(len(a.sentences)) for a in world.attributes}
        for j in range(paraphrases):
            sentences = [
                a.sentences[orders[a.name][j % len(a.sentences)]].format(
                    name=entity.name, value=entity.facts[a.name])
                for a in world.attributes
            ]
            documents.append(" ".join(sentences[i] for i in rng.permutation(len(sentences))))
    return [documents[i] for i in rng.permutation(len(documents))]


def qa_pairs(world: World, entities: Sequence[Entity], seed: int, per_fact: int = 1) -> list[QA]:
    """Questions about every fact of ``entities``: ``per_fact`` distinct random templates each.

    ``per_fact`` is capped at each attribute's number of question templates. Order: entity,
    then attribute, then template.
    """
    check_int("per_fact", per_fact, 1)
    rng = _rng(seed, 1)
    pairs = []
    for entity in entities:
        for a in world.attributes:
            if a.name not in entity.facts:
                raise ValueError(
                    f"entities: {entity.name!r} has no {a.name!r} fact; is it from this world?")
            for t in rng.permutation(len(a.questions))[:per_fact]:
                pairs.append(QA(question=a.questions[t].format(name=entity.name),
                                answer=entity.facts[a.name], entity=entity.name,
                                attribute=a.name, choices=a.values))
    return pairs


def conversations(qa_list: Iterable[QA], system: str | None = None) -> list[list[dict[str, str]]]:
    """Chat-format conversations: optional system message, the question, the bare answer."""
    prefix = [] if system is None else [{"role": "system", "content": system}]
    return [prefix + [{"role": "user", "content": qa.question},
                      {"role": "assistant", "content": qa.answer}] for qa in qa_list]


def normalize(text: str) -> str:
    """Text up to the first end token and first line, lower-cased, collapsed whitespace,
    without surrounding punctuation or quotes."""
    for token in END_TOKENS:
        text = text.split(token, 1)[0]
    text = text.strip().split("\n", 1)[0] if text.strip() else ""
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" .,;:!?\"'").lower()


def answer_matches(response: str, qa: QA) -> bool:
    """Normalised exact match of a generated ``response`` against ``qa.answer``."""
    return normalize(response) == normalize(qa.answer)


def accuracy(responses: Sequence[str], qa_list: Sequence[QA]) -> float:
    """Fraction of ``responses`` that match their ``qa_list`` answers."""
    if len(responses) != len(qa_list):
        raise ValueError(f"responses has {len(responses)} items but qa_list has {len(qa_list)}")
    if not qa_list:
        raise ValueError("qa_list is empty")
    return sum(answer_matches(r, qa) for r, qa in zip(responses, qa_list)) / len(qa_list)


def chance_accuracy(qa_list: Sequence[QA]) -> float:
    """Accuracy of uniform guessing among each question's choices: mean of 1/len(choices)."""
    if not qa_list:
        raise ValueError("qa_list is empty")
    return float(np.mean([1.0 / len(qa.choices) for qa in qa_list]))
