"""Benchmarks, run as ``python -m benchmarks.<name>``. Importing ``experiments`` first applies
its opt-in host-memory setting (``experiments.host_memory``) to the whole process, both stacks
alike."""

import experiments  # noqa: F401
