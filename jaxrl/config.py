"""Configs: frozen dataclasses, validated on construction, whose float fields are pytree leaves.

Every agent config is a ``flax.struct`` dataclass. Shape-determining fields (sizes, counts,
names) are static (``static_field``); the rest are pytree leaves, so ``jax.vmap`` can sweep
them. Validation runs in ``__post_init__`` and checks only concrete Python/NumPy values: the
dataclass is rebuilt with tracers inside ``vmap``/``jit``, where there is nothing to check.
"""

from __future__ import annotations

import dataclasses
import numbers

import jax
import numpy as np
from flax import struct

config_dataclass = struct.dataclass


def static_field(default, **kwargs):
    """A shape-determining config field: part of the tree structure, not a leaf."""
    return struct.field(pytree_node=False, default=default, **kwargs)


class ConfigError(ValueError):
    """A config value is out of its allowed range; the message names the field."""


def _concrete(value) -> bool:
    if isinstance(value, jax.core.Tracer):
        return False
    if isinstance(value, (tuple, list)):
        return all(_concrete(v) for v in value)
    return isinstance(value, (numbers.Number, np.ndarray, np.generic, str))


def fail(cls_name: str, field: str, value, allowed: str):
    raise ConfigError(f"{cls_name}.{field}={value!r} is invalid: expected {allowed}")


def check(config, field: str, ok, allowed: str) -> None:
    """Raise ``ConfigError`` naming ``field`` unless ``ok(value)`` for a concrete value."""
    value = getattr(config, field)
    if not _concrete(value):
        return
    try:
        good = bool(np.all(ok(value)))
    except TypeError:
        good = False
    if not good:
        fail(type(config).__name__, field, value, allowed)


def positive(config, *fields: str) -> None:
    for f in fields:
        check(config, f, lambda v: np.isfinite(v) & (np.asarray(v) > 0), "a finite number > 0")


def non_negative(config, *fields: str) -> None:
    for f in fields:
        check(config, f, lambda v: np.isfinite(v) & (np.asarray(v) >= 0), "a finite number >= 0")


def in_unit_interval(config, *fields: str, closed: bool = True) -> None:
    for f in fields:
        if closed:
            check(config, f, lambda v: (np.asarray(v) >= 0) & (np.asarray(v) <= 1), "a number in [0, 1]")
        else:
            check(config, f, lambda v: (np.asarray(v) > 0) & (np.asarray(v) < 1), "a number in (0, 1)")


def one_of(config, field: str, choices) -> None:
    choices = tuple(choices)
    check(config, field, lambda v: v in choices, f"one of {', '.join(map(repr, choices))}")


def known_env(config, field: str = "env") -> None:
    """The field must name an environment in ``envs.registered()``."""
    from envs.registry import is_registered

    check(config, field, is_registered, "a name in envs.registered()")


def divides(config, numerator: str, denominator: str) -> None:
    """``getattr(config, numerator)`` must be a multiple of ``getattr(config, denominator)``."""
    n, d = getattr(config, numerator), getattr(config, denominator)
    if _concrete(n) and _concrete(d) and n % d != 0:
        fail(type(config).__name__, numerator, n, f"a multiple of {denominator}={d}")


def to_dict(config) -> dict:
    """The config as plain JSON-able values."""
    out = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if dataclasses.is_dataclass(v):
            v = to_dict(v)
        elif isinstance(v, (np.ndarray, np.generic, jax.Array)):
            v = np.asarray(v).tolist()
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out
