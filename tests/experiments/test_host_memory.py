"""experiments.host_memory: in a fresh single-threaded process that opts in, a freed large block
comes back without page faults (without the setting glibc unmaps it and every page faults in
again); the default, or opting in once other threads run, leaves malloc alone; a bad value of
the variable is an error naming it."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

PROBE = """
import ctypes, resource, sys
from experiments.host_memory import apply_from_environment
applied = apply_from_environment()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
size = 256 << 20
def faults_touching_a_fresh_block():
    p = libc.malloc(size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    ctypes.memset(p, 1, size)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    libc.free(ctypes.c_void_p(p))
    return after - before
faults_touching_a_fresh_block()
print(applied, faults_touching_a_fresh_block())
"""


def probe(env_value=None, threads_first=False):
    code = ("import threading, time\nthreading.Thread(target=time.sleep, args=(2,)).start()\n"
            if threads_first else "") + PROBE
    env = {"PATH": "/usr/bin:/bin"}
    if env_value is not None:
        env["JAXRESEARCH_KEEP_HOST_MEMORY"] = env_value
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd=".").stdout.split()
    return out[0] == "True", int(out[1])


def test_freed_block_is_reused_without_page_faults():
    applied, faults = probe("1")
    assert applied
    assert faults < 32  # a fresh mapping faults 65536 4-KiB pages in (128 with huge pages)


def test_default_and_late_call_leave_malloc_alone():
    for kwargs in ({}, {"env_value": "0"}, {"env_value": "1", "threads_first": True}):
        applied, faults = probe(**kwargs)
        assert not applied
        assert faults >= 100, kwargs


def test_bad_value_names_the_variable(monkeypatch):
    from experiments.host_memory import ENV, apply_from_environment
    monkeypatch.setenv(ENV, "yes")
    with pytest.raises(ValueError, match="JAXRESEARCH_KEEP_HOST_MEMORY='yes'"):
        apply_from_environment()
