"""The experiment command line: a dataclass CLI (tyro) whose defaults come from a preset.

``--preset smoke|default|paper`` picks a set of defaults; every other flag overrides them.
``--help`` lists every option with the chosen preset's values. An unknown flag or a value that
fails the config's validation stops the program before anything is compiled, with a message
naming the field.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import tyro

PRESETS = ("smoke", "default", "paper")
Preset = Literal["smoke", "default", "paper"]


def _preset_from_argv(argv: Sequence[str]) -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--preset", default="default")
    known, _ = parser.parse_known_args(list(argv))
    return known.preset


def parse(config_cls: type, presets: Mapping[str, Mapping[str, Any]],
          argv: Sequence[str] | None = None, description: str | None = None,
          prog: str | None = None):
    """Parse ``argv`` into ``config_cls`` with defaults from ``presets[--preset]``.

    ``presets`` maps each of smoke/default/paper to field overrides of ``config_cls`` (nested
    dataclass fields may be given as dataclass instances). ``config_cls`` must have a ``preset``
    field.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    preset = _preset_from_argv(argv)
    if preset not in presets:
        raise SystemExit(
            f"error: --preset {preset!r} is not one of {', '.join(sorted(presets))}"
        )
    default = dataclasses.replace(config_cls(), preset=preset, **presets[preset])
    try:
        return tyro.cli(config_cls, default=default, args=argv, description=description,
                        prog=prog)
    except ValueError as err:  # validation in __post_init__ of the parsed config
        raise SystemExit(f"error: {err}") from None
