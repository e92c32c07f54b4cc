"""What every experiment shares: CLI with presets, run folder, chunked training, plots."""

from experiments.harness.checkpoint import Checkpointer
from experiments.harness.checks import ints_at_least, positive_numbers
from experiments.harness.cli import PRESETS, Preset, parse
from experiments.harness.files import write_atomic, write_json
from experiments.harness.loop import TrainingDiverged, train_seeds
from experiments.harness.rundir import (
    RunDir,
    config_from_dict,
    config_to_dict,
    format_table,
)
from experiments.harness.timing import Timing

__all__ = [
    "PRESETS",
    "Checkpointer",
    "Preset",
    "RunDir",
    "Timing",
    "TrainingDiverged",
    "config_from_dict",
    "config_to_dict",
    "format_table",
    "ints_at_least",
    "parse",
    "positive_numbers",
    "train_seeds",
    "write_atomic",
    "write_json",
]
