"""Data for the LLM experiments: the seeded synthetic world, its corpus, and a BPE tokenizer."""

from llm.data.bpe import CHAT_TEMPLATE, SPECIAL_TOKENS, save_atomically, train_tokenizer
from llm.data.corpus import (
    QA,
    accuracy,
    answer_matches,
    chance_accuracy,
    conversations,
    normalize,
    pretraining_documents,
    qa_pairs,
)
from llm.data.world import (
    ATTRIBUTE_NAMES,
    ATTRIBUTES,
    Attribute,
    Entity,
    World,
    make_world,
)

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_NAMES",
    "CHAT_TEMPLATE",
    "QA",
    "SPECIAL_TOKENS",
    "Attribute",
    "Entity",
    "World",
    "accuracy",
    "answer_matches",
    "chance_accuracy",
    "conversations",
    "make_world",
    "normalize",
    "pretraining_documents",
    "qa_pairs",
    "save_atomically",
    "train_tokenizer",
]
