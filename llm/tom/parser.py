"""Parse a language model's answer into a predicted partner action and an own action.

The prompts ask for two labelled lines, ``Prediction: <action>`` and ``Action: <action>``. The
parser reads the text line by line; a line is a field when the words before its first ``:`` or
``=`` (markdown ``*#>-`` and whitespace stripped) form a label, and a value ends where another
"prediction:", "action:" or "move:" begins (so "Prediction: Rock Action: Paper" is two fields):

* a prediction label contains "predict", "partner", "opponent" or "other player";
* otherwise an action label contains "action", "move", "play", "choice" or "answer".

The field's value counts when it names exactly one of the game's actions as a whole word
(case-insensitive, markdown and punctuation ignored): "**Paper**." is Paper, "Rockets" is
nothing, "Rock or Paper" is ambiguous and so invalid. The *last* valid occurrence of each field
wins, so chain-of-thought reasoning before the final answer does not confuse it. Missing or
invalid fields are None; the caller counts them and falls back to a random action. The parser
never raises on any text.
"""

from __future__ import annotations

import re

PREDICTION_WORDS = ("predict", "partner", "opponent", "other player")
ACTION_WORDS = ("action", "move", "play", "choice", "answer")
MAX_LABEL_CHARS = 60
_STRIP = "*_#>`-• \t"
_INLINE_LABEL = re.compile(r"\s[*_`]*(?:prediction|action|move)[*_`]*\s*[:=]", re.IGNORECASE)


def _label_kind(label: str) -> str | None:
    label = label.strip(_STRIP).lower()
    if not label or len(label) > MAX_LABEL_CHARS:
        return None
    if any(word in label for word in PREDICTION_WORDS):
        return "prediction"
    if any(word in label for word in ACTION_WORDS):
        return "action"
    return None


def parse_value(value: str, actions) -> int | None:
    """The index of the single action named in ``value`` (whole words, any case), else None."""
    words = set(re.findall(r"[a-z]+", value.lower()))
    named = [i for i, name in enumerate(actions) if name.lower() in words]
    return named[0] if len(named) == 1 else None


def parse_answer(text, actions) -> tuple[int | None, int | None]:
    """``(prediction, action)`` parsed from ``text`` (see the module docstring)."""
    fields: dict[str, int | None] = {"prediction": None, "action": None}
    if not isinstance(text, str):
        return None, None
    lines = text.splitlines()[::-1]
    while lines:
        line = lines.pop()
        match = re.search(r"[:=]", line)
        if match is None:
            continue
        value = line[match.end():]
        inline = _INLINE_LABEL.search(value)
        if inline is not None:  # another field on the same line: parse it next
            lines.append(value[inline.start():])
            value = value[:inline.start()]
        kind = _label_kind(line[:match.start()])
        index = parse_value(value, actions) if kind else None
        if index is not None:
            fields[kind] = index
    return fields["prediction"], fields["action"]
