"""Test-session settings: a persistent JAX compilation cache shared by the tests of one run.

Several end-to-end tests build the same training program more than once (a determinism run
beside the first, a resume); with the cache the second build loads the compiled program
instead of compiling it again (the ppo_baseline determinism test: 31 s without, 19 s with).
The cache lives in a temporary folder removed at the end of the session, so every run starts
cold and nothing survives between runs; only programs that took at least a second to compile
are stored.

``finishes_on_cpu`` runs a script in a fresh CPU process under XLA's default scheduler, for the
programs that once hung XLA's CPU runtime (see jaxrl/linalg.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import jax
import pytest

_CACHE = tempfile.mkdtemp(prefix="jax-test-cache-")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def finishes_on_cpu():
    """``run(script, timeout, what)``: fail unless ``script`` prints "finished" and exits 0
    within ``timeout`` seconds in a fresh CPU process under XLA's default scheduler."""

    def run(script: str, timeout: float, what: str) -> None:
        env = dict(os.environ, JAX_PLATFORMS="cpu",
                   XLA_FLAGS="--xla_cpu_enable_concurrency_optimized_scheduler=true")
        try:
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                 text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{what} did not finish in {timeout} s")
        assert out.returncode == 0, out.stderr[-2000:]
        assert "finished" in out.stdout

    return run
