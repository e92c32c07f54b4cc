"""Range checks for experiment ``Config.__post_init__``: each raises ``ValueError`` naming the
field, its value and what is allowed, before any work starts."""

from __future__ import annotations

import math


def _bad(config, name: str, expected: str):
    raise ValueError(f"{type(config).__name__}.{name}={getattr(config, name)!r} is invalid: "
                     f"expected {expected}")


def ints_at_least(config, low: int, *names: str) -> None:
    """Each named field is an int (not a bool) >= ``low``."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            _bad(config, name, f"an integer >= {low}")


def positive_numbers(config, *names: str) -> None:
    """Each named field is a finite number > 0."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or value <= 0:
            _bad(config, name, "a finite number > 0")
