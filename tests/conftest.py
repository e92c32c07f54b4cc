"""Test-session settings: a persistent JAX compilation cache shared by the tests of one run.

Several end-to-end tests build the same training program more than once (a determinism run
beside the first, a resume); with the cache the second build loads the compiled program
instead of compiling it again (the ppo_baseline determinism test: 31 s without, 19 s with).
The cache lives in a temporary folder removed at the end of the session, so every run starts
cold and nothing survives between runs; only programs that took at least a second to compile
are stored.
"""

from __future__ import annotations

import shutil
import tempfile

import jax

_CACHE = tempfile.mkdtemp(prefix="jax-test-cache-")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)
