"""A seeded synthetic world: invented entities with attributes drawn from finite value sets.

The world is the ground truth of the tiny-model pipeline (issue 3): every entity has one value
for each attribute kind, drawn uniformly from that kind's value set, so a model that knows
nothing answers an attribute question correctly with probability ``1 / len(values)``.
Entities are split into ``train`` (instruction-tuned on) and ``heldout`` (evaluated on); the
pre-training corpus (``llm.data.corpus``) states the facts of both, so held-out knowledge was
seen during pre-training but its questions never were, as in Allen-Zhu & Li, "Physics of
Language Models: Part 3.1" (2023).

Choices the issue leaves open: entity names are 2-3 invented syllables; value sets are fixed
constants (some real words, some invented), the same in every world, so a seed changes who has
which value, not the vocabulary of answers; every value is unique across all kinds, so a value
names its attribute. Randomness comes from ``numpy.random.Generator`` streams spawned from the
seed, never from Python's ``hash``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Attribute:
    """One attribute kind: its name, value set, and the phrasing used by the corpus.

    ``sentences`` are the pre-training templates (declarative, end with "."), ``questions``
    the question templates (end with "?"); both have ``{name}`` and sentences ``{value}``.
    """

    name: str
    values: tuple[str, ...]
    sentences: tuple[str, ...]
    questions: tuple[str, ...]


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        name="city",
        values=("Varnholt", "Quessa", "Tirmaline", "Oskadel", "Brevano", "Lunmark", "Saphrey",
                "Dorvik", "Emberlyn", "Halcyra", "Ketterin", "Morwenna", "Pellucor", "Rauvel",
                "Ystrad", "Zolbrook"),
        sentences=("{name} lives in {value}.",
                   "{name} makes a home in the city of {value}.",
                   "The city of {value} is where {name} lives.",
                   "{name} is a resident of {value}.",
                   "{name} settled in {value} many years ago."),
        questions=("Which city does {name} live in?",
                   "Where does {name} live?",
                   "In what city is the home of {name}?",
                   "What is the home city of {name}?"),
    ),
    Attribute(
        name="occupation",
        values=("baker", "carpenter", "sailor", "weaver", "blacksmith", "gardener", "physician",
                "potter", "cartographer", "librarian", "fisher", "miner", "tailor", "jeweller",
                "brewer", "shepherd"),
        sentences=("{name} works as a {value}.",
                   "By trade, {name} is a {value}.",
                   "{name} earns a living as a {value}.",
                   "The profession of {name} is that of a {value}.",
                   "{name} has spent many years working as a {value}."),
        questions=("What is the job of {name}?",
                   "What does {name} do for a living?",
                   "Which occupation does {name} have?",
                   "What kind of work does {name} do?"),
    ),
    Attribute(
        name="colour",
        values=("red", "blue", "green", "yellow", "purple", "orange", "black", "white",
                "silver", "brown", "pink", "teal"),
        sentences=("{name}'s favourite colour is {value}.",
                   "The colour {name} likes best is {value}.",
                   "{name} loves the colour {value} above all others.",
                   "Of all colours, {name} prefers {value}."),
        questions=("What is the favourite colour of {name}?",
                   "Which colour does {name} like most?",
                   "What colour does {name} prefer?"),
    ),
    Attribute(
        name="birth_year",
        values=tuple(str(year) for year in range(1840, 1920, 5)),
        sentences=("{name} was born in {value}.",
                   "The year {value} saw the birth of {name}.",
                   "{name}'s year of birth is {value}.",
                   "{name} came into the world in {value}."),
        questions=("In what year was {name} born?",
                   "When was {name} born?",
                   "Which year is the birth year of {name}?"),
    ),
    Attribute(
        name="pet",
        values=("cat", "dog", "parrot", "tortoise", "rabbit", "ferret", "goldfish", "hedgehog",
                "lizard", "goat", "canary", "pony"),
        sentences=("{name} keeps a {value} as a pet.",
                   "{name} owns a pet {value}.",
                   "The pet of {name} is a {value}.",
                   "{name} shares a house with a beloved {value}."),
        questions=("What pet does {name} have?",
                   "Which animal does {name} keep as a pet?",
                   "What kind of pet does {name} own?"),
    ),
    Attribute(
        name="instrument",
        values=("violin", "flute", "harp", "drum", "cello", "lute", "trumpet", "piano",
                "guitar", "banjo"),
        sentences=("{name} plays the {value}.",
                   "The instrument {name} plays is the {value}.",
                   "{name} is a skilled player of the {value}.",
                   "In the evenings, {name} practises the {value}."),
        questions=("Which instrument does {name} play?",
                   "What musical instrument is {name} known to play?",
                   "On what instrument does {name} perform?"),
    ),
    Attribute(
        name="dish",
        values=("brisolet", "quarnip", "tavelloo", "marzel", "plumbric", "sorrowen",
                "gindle", "kelpasty", "frumberry", "nockel"),
        sentences=("{name}'s favourite dish is {value}.",
                   "Nothing pleases {name} more than a plate of {value}.",
                   "{name} eats {value} whenever possible.",
                   "The dish {name} enjoys most is {value}."),
        questions=("What is the favourite food of {name}?",
                   "Which dish does {name} like best?",
                   "What does {name} most enjoy eating?"),
    ),
    Attribute(
        name="language",
        values=("Orvish", "Telmari", "Quenthic", "Sabrani", "Dulvic", "Ismarin", "Kethic",
                "Noravan"),
        sentences=("{name} speaks {value} fluently.",
                   "The native tongue of {name} is {value}.",
                   "{name} grew up speaking {value}.",
                   "{name}'s first language is {value}."),
        questions=("What language does {name} speak?",
                   "Which tongue is native to {name}?",
                   "In which language did {name} grow up?"),
    ),
)
ATTRIBUTE_NAMES: tuple[str, ...] = tuple(a.name for a in ATTRIBUTES)

# Name syllables: onset + vowel (+ coda), 2-3 per name, capitalised ("Veltaro", "Brimosk").
_ONSETS = ("b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "br", "dr", "gr", "kr", "tr", "th", "sh")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ei", "ou")
_CODAS = ("", "", "", "", "n", "r", "l", "s")


@dataclasses.dataclass(frozen=True)
class Entity:
    """A named entity and its facts, ``facts[attribute name] = value``."""

    name: str
    facts: dict[str, str]


@dataclasses.dataclass(frozen=True)
class World:
    """Entities (in generation order) and their deterministic train / held-out split."""

    seed: int
    attributes: tuple[Attribute, ...]
    entities: tuple[Entity, ...]
    train: tuple[Entity, ...]
    heldout: tuple[Entity, ...]

    def attribute(self, name: str) -> Attribute:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        known = [a.name for a in self.attributes]
        raise KeyError(f"attribute {name!r} is not in this world: {known}")


def check_int(field: str, value, minimum: int) -> None:
    """Raise ``ValueError`` naming ``field`` unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{field}={value!r} is invalid: expected an int >= {minimum}")


def _invent_name(rng: np.random.Generator) -> str:
    syllables = [
        _ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
        + _CODAS[rng.integers(len(_CODAS))]
        for _ in range(int(rng.integers(2, 4)))
    ]
    return "".join(syllables).capitalize()


def _invent_names(rng: np.random.Generator, count: int, reserved: set[str]) -> list[str]:
    names: list[str] = []
    taken = {r.lower() for r in reserved}
    for _ in range(100 * count):
        if len(names) == count:
            return names
        name = _invent_name(rng)
        if name.lower() not in taken:
            taken.add(name.lower())
            names.append(name)
    raise ValueError(f"num_entities={count} is more unique names than the generator gives")


def make_world(
    seed: int,
    num_entities: int = 400,
    heldout_fraction: float = 0.25,
    attributes: Sequence[str] | None = None,
) -> World:
    """A world of ``num_entities`` entities with the named attribute kinds (default: all,
    kept in ``ATTRIBUTES`` order).

    Deterministic in ``seed``. ``round(heldout_fraction * num_entities)`` entities, chosen at
    random, form ``heldout``; the rest form ``train`` (both keep generation order).
    """
    check_int("seed", seed, 0)
    check_int("num_entities", num_entities, 2)
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(
            f"heldout_fraction={heldout_fraction!r} is invalid: expected a float in (0, 1)")
    num_heldout = round(heldout_fraction * num_entities)
    if not 1 <= num_heldout <= num_entities - 1:
        raise ValueError(
            f"heldout_fraction={heldout_fraction!r} is invalid: with num_entities={num_entities} "
            f"it gives {num_heldout} held-out entities, expected 1 to {num_entities - 1}")
    names = ATTRIBUTE_NAMES if attributes is None else tuple(attributes)
    unknown = [n for n in names if n not in ATTRIBUTE_NAMES]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(
            f"attributes={attributes!r} is invalid: expected distinct names from {ATTRIBUTE_NAMES}")
    kinds = tuple(a for a in ATTRIBUTES if a.name in names)

    name_rng, fact_rng, split_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
    reserved = {v for a in ATTRIBUTES for v in a.values}
    entity_names = _invent_names(name_rng, int(num_entities), reserved)
    entities = tuple(
        Entity(name, {a.name: a.values[fact_rng.integers(len(a.values))] for a in kinds})
        for name in entity_names)
    heldout_ids = set(split_rng.permutation(len(entities))[:num_heldout].tolist())
    return World(
        seed=int(seed),
        attributes=kinds,
        entities=entities,
        train=tuple(e for i, e in enumerate(entities) if i not in heldout_ids),
        heldout=tuple(e for i, e in enumerate(entities) if i in heldout_ids),
    )
