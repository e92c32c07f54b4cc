"""The small-scale reproduction's data on the synthetic world (``llm.data``), spec 01:

- ``skill_examples``: the new skill, absent from pre-training and instruction tuning. ``echo``:
  "Repeat the name: A." (three phrasings) -> "A"; ``swap``: "Swap the names: A and B." ->
  "B and A". Both need copying invented names from the prompt, which no world text asks for:
  the instruct model answers such a prompt with an attribute value (accuracy 0). Train examples
  use train entities' names, test examples held-out entities' names, so task accuracy measures
  the skill, not memorised answers. (The 1M-parameter default model learns echo in ~50 LoRA
  steps; it did not learn swap in 200.)
- ``replay_documents``: approximate replay, "other sentences about the same world, never the
  exact pre-training text": the same facts written with ``REPLAY_SENTENCES``, templates disjoint
  from the pre-training ones (``llm.data.ATTRIBUTES[*].sentences``), in random fact orders. As
  an open web corpus overlaps what a model read, it covers every entity, held-out ones included.
  The templates bring words the pre-training text never used ("Letters for N are delivered to
  X."), as an open corpus would: the default tiny model starts at ~8 nats/token on them (0.8 on
  pre-training-style text). A variant reusing only pre-training words in new sentences ("The
  home city of N is X.") gave, in the default experiment, kl_replay general/task accuracy
  0.765/0.97 against 0.91/0.89 with these templates (seed 0, one run each).
"""

from __future__ import annotations

import numpy as np

from llm.data.world import World, check_int

ANSWER_PREFIX = " "
"""Answers start with a space, as in ``experiments.pretrain_tiny`` (a name after a space is the
token sequence the biographies use)."""
TASKS = ("echo", "swap")
ECHO_PROMPTS = ("Repeat the name: {name}.", "Say this name back to me: {name}.",
                "Echo the following name: {name}.")

REPLAY_SENTENCES: dict[str, tuple[str, ...]] = {
    "city": ("Letters for {name} are delivered to {value}.",
             "Ask around {value} and people will point you to {name}.",
             "The house of {name} stands in {value}."),
    "occupation": ("Everyone knows {name} as a {value}.",
                   "{name} trained for years to become a {value}.",
                   "Ask {name} anything about the life of a {value}."),
    "colour": ("{name} painted the front door {value}.",
               "Most of the clothes of {name} are {value}."),
    "birth_year": ("The parish register records the birth of {name} in {value}.",
                   "Born in {value}, {name} remembers that year fondly."),
    "pet": ("Every morning {name} feeds the {value}.",
            "Neighbours often see {name} walking with a {value}."),
    "instrument": ("The sound of the {value} fills the house of {name}.",
                   "{name} carries a {value} to every festival."),
    "dish": ("At dinner {name} always asks for {value}.",
             "{name} cooks {value} for friends."),
    "language": ("Letters written by {name} are in {value}.",
                 "{name} talks with neighbours in {value}."),
}


def _rng(seed: int, stream: int) -> np.random.Generator:
    check_int("seed", seed, 0)
    return np.random.default_rng([int(seed), 7_000 + stream])


def replay_documents(world: World, seed: int, per_entity: int = 2) -> list[str]:
    """``per_entity`` documents per entity of ``world`` in the replay templates, shuffled."""
    check_int("per_entity", per_entity, 1)
    missing = [a.name for a in world.attributes if a.name not in REPLAY_SENTENCES]
    if missing:
        raise ValueError(f"no replay templates for attributes {missing}")
    rng = _rng(seed, 0)
    docs = []
    for entity in world.entities:
        for _ in range(per_entity):
            sentences = []
            for a in world.attributes:
                templates = REPLAY_SENTENCES[a.name]
                t = templates[rng.integers(len(templates))]
                sentences.append(t.format(name=entity.name, value=entity.facts[a.name]))
            docs.append(" ".join(sentences[i] for i in rng.permutation(len(sentences))))
    return [docs[i] for i in rng.permutation(len(docs))]


def skill_examples(names, count: int, seed: int, task: str = "echo") -> list[list[dict[str, str]]]:
    """``count`` distinct chat examples of the new skill over ``names`` (see module docstring)."""
    if task not in TASKS:
        raise ValueError(f"task={task!r} is invalid: expected one of {TASKS}")
    check_int("count", count, 1)
    names = list(names)
    rng = _rng(seed, 1)
    if task == "echo":
        options = len(names) * len(ECHO_PROMPTS)
        if count > options:
            raise ValueError(f"count={count} echo examples need {count} (name, prompt) pairs; "
                             f"{len(names)} names give {options}")
        picked = [(names[i % len(names)], ECHO_PROMPTS[i // len(names)])
                  for i in rng.permutation(options)[:count]]
    else:
        pairs = len(names) * (len(names) - 1)
        if count > pairs:
            raise ValueError(f"count={count} swap examples need {count} ordered pairs of names; "
                             f"{len(names)} names give {pairs}")
        seen, picked = set(), []
        while len(picked) < count:
            i, j = rng.choice(len(names), 2, replace=False)
            if (i, j) not in seen:
                seen.add((i, j))
                picked.append((names[i], names[j]))
    out = []
    for item in picked:
        if task == "echo":
            question, answer = item[1].format(name=item[0]), item[0]
        else:
            question, answer = (f"Swap the names: {item[0]} and {item[1]}.",
                                f"{item[1]} and {item[0]}")
        out.append([{"role": "user", "content": question},
                    {"role": "assistant", "content": ANSWER_PREFIX + answer}])
    return out
