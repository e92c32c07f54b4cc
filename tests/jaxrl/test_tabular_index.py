"""Table rows of observation stacks: exact codes and the hashed fallback."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.tabular_index import stack_index


def frames_of(codes, n):
    return np.stack([np.zeros(n) if c == 0 else np.eye(n)[c - 1] for c in codes]).astype(
        np.float32)


def test_exact_index_is_a_bijection_onto_the_table():
    index, num_states, exact = stack_index(4, 2)
    assert exact and num_states == 25
    rows = [int(index(frames_of(c, 4))) for c in itertools.product(range(5), repeat=2)]
    assert sorted(rows) == list(range(25))
    assert int(index(frames_of((1, 3), 4))) == 1 * 5 + 3  # base-5 digits, oldest first


def reference_hash(codes, rows):
    """FNV-1a over the slot codes, then MurmurHash3's fmix32, in plain Python integers."""
    h = 0x811C9DC5
    for c in codes:
        h = ((h ^ c) * 0x01000193) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h & (rows - 1)


def test_hashed_index_matches_reference_and_separates_tmaze_frame_stacks():
    index, num_states, exact = stack_index(4, 50, max_states=2**18)
    assert not exact and num_states == 2**18
    # The stacks a frame stack of κ = 50 sees in a passive T-maze of length 50, for both cues.
    stacks = []
    for cue in (3, 4):
        seq = [cue] + [1] * 48 + [2]
        for t in range(50):
            window = ([0] * 50 + seq[: t + 1])[-50:]
            stacks.append(window)
    rows = jax.jit(jax.vmap(index))(jnp.asarray(np.stack([frames_of(s, 4) for s in stacks])))
    assert [int(r) for r in rows] == [reference_hash(s, 2**18) for s in stacks]
    assert len(set(np.asarray(rows).tolist())) == len(stacks)
    # One fused expression: no loop over the 50 slots inside every environment step (on a GPU
    # each iteration would be a kernel launch).
    lowered = jax.jit(index).lower(jnp.asarray(frames_of(stacks[0], 4))).as_text()
    assert "stablehlo.while" not in lowered


def test_max_states_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        stack_index(4, 3, max_states=1000)
