"""One registry for every environment: the project's own, gymnax's, and brax's (``brax/<name>``).

``make(name, **overrides) -> (env, params)``. Overrides set fields of the environment's params
(or, for the project's own environments, arguments of its factory). An unknown name or field is
a ``ValueError`` that lists what is allowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import gymnax

from envs.core import Environment, GymnaxEnv

BRAX_PREFIX = "brax/"
# Brax's own environment names, listed here so the registry can answer without importing brax.
BRAX_ENVS = (
    "ant", "halfcheetah", "hopper", "humanoid", "humanoidstandup", "inverted_pendulum",
    "inverted_double_pendulum", "pusher", "reacher", "walker2d",
)

_FACTORIES: dict[str, Callable[..., tuple[Environment, Any]]] = {}


def register(name: str, factory: Callable[..., tuple[Environment, Any]]) -> None:
    """Register ``factory(**overrides) -> (env, params)`` under ``name``."""
    if name in _FACTORIES or name in gymnax.registered_envs:
        raise ValueError(f"environment {name!r} is already registered")
    _FACTORIES[name] = factory


def registered() -> list[str]:
    """Every name ``make`` accepts."""
    names = set(_FACTORIES) | set(gymnax.registered_envs)
    names |= {BRAX_PREFIX + n for n in BRAX_ENVS}
    return sorted(names)


def is_registered(name: str) -> bool:
    return name in _FACTORIES or name in gymnax.registered_envs or (
        name.startswith(BRAX_PREFIX) and name[len(BRAX_PREFIX):] in BRAX_ENVS
    )


def replace_params(params, overrides: dict, env_name: str):
    """``params.replace(**overrides)`` with an error naming any field the params lack."""
    if not overrides:
        return params
    fields = {f.name for f in dataclasses.fields(params)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(
            f"environment {env_name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(fields))}"
        )
    return params.replace(**overrides)


def make(name: str, **overrides) -> tuple[Environment, Any]:
    """Build environment ``name`` and its params, with ``overrides`` applied to the params."""
    if name in _FACTORIES:
        return _FACTORIES[name](**overrides)
    if name in gymnax.registered_envs:
        env, params = gymnax.make(name)
        return GymnaxEnv(env), replace_params(params, overrides, name)
    if name.startswith(BRAX_PREFIX) and name[len(BRAX_PREFIX):] in BRAX_ENVS:
        from envs.brax_adapter import make_brax

        return make_brax(name[len(BRAX_PREFIX):], **overrides)
    close = [n for n in registered() if name.lower() in n.lower()][:5]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown environment {name!r}.{hint} See envs.registered() for all "
        f"{len(registered())} names."
    )
