"""Table rows for stacks of one-hot observations (tabular agents over Adaptive Stacking).

Each slot of a stack is coded 0 (an all-zero frame: the initial padding) or ``1 + argmax`` of
its one-hot observation, so a stack of ``κ`` slots over ``n`` observations has
``(n + 1)^κ`` codes. When that fits in ``max_states`` the row is the exact base-``(n+1)``
number; otherwise (frame stacks of a whole corridor) the codes are hashed (FNV-1a over the
slots, then MurmurHash3's 32-bit finaliser) into ``max_states`` rows, a power of two.

Choice where the paper is silent: the reference code keeps a Python dict of visited stacks; a
jitted agent needs a fixed table, and a hash keeps it small. With ``m`` distinct visited stacks
the chance of any collision is about ``m² / (2 · max_states)`` (a T-maze frame stack of κ = L
visits about 2L stacks: 0.5% at L = 50 with the default 2^20 rows).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

FNV_OFFSET, FNV_PRIME = 0x811C9DC5, 0x01000193


def slot_codes(frames: jax.Array) -> jax.Array:
    """``(κ,)`` codes of a ``(κ, n)`` stack: 0 for a zero frame, else ``1 + argmax``."""
    filled = jnp.any(frames != 0, axis=-1)
    return jnp.where(filled, jnp.argmax(frames, axis=-1) + 1, 0).astype(jnp.uint32)


def _fmix32(h):
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def stack_index(num_obs: int, num_stack: int,
                max_states: int = 2**20) -> tuple[Callable[[jax.Array], jax.Array], int, bool]:
    """``(index, num_states, exact)`` for ``(κ, num_obs)`` stacks of one-hot observations."""
    if max_states < 1 or max_states & (max_states - 1):
        raise ValueError(f"max_states must be a power of two, got {max_states}")
    base = num_obs + 1
    if base**num_stack <= max_states:
        weights = jnp.asarray([base ** (num_stack - 1 - i) for i in range(num_stack)], jnp.int32)

        def exact(frames):
            return (slot_codes(frames).astype(jnp.int32) * weights).sum()

        return exact, base**num_stack, True

    def hashed(frames):
        def mix(h, code):
            return (h ^ code) * jnp.uint32(FNV_PRIME), None

        # Unrolled: one fused expression, not a loop of κ tiny steps (on a GPU each loop
        # iteration is a kernel launch, inside every environment step).
        h, _ = jax.lax.scan(mix, jnp.uint32(FNV_OFFSET), slot_codes(frames), unroll=True)
        return (_fmix32(h) & jnp.uint32(max_states - 1)).astype(jnp.int32)

    return hashed, max_states, False
