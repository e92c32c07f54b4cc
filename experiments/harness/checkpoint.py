"""Orbax checkpoints of a training state (any pytree: Equinox modules, optax states, keys).

Only the array leaves are written; the tree structure comes from a template state built the
same way (``program.init``), so restoring needs no pickled Python objects. Typed PRNG keys are
stored as their raw key data.
"""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import numpy as np
import orbax.checkpoint as ocp


def _is_key(x) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _arrays(state) -> dict[str, np.ndarray]:
    leaves = jax.tree.leaves(eqx.filter(state, eqx.is_array))
    return {
        f"{i:05d}": np.asarray(jax.random.key_data(x) if _is_key(x) else x)
        for i, x in enumerate(leaves)
    }


class Checkpointer:
    """Keeps the newest ``max_to_keep`` checkpoints of one training run under ``directory``."""

    def __init__(self, directory: str | Path, max_to_keep: int = 2):
        self.directory = Path(directory).absolute()
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        )

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, step: int, state) -> None:
        self.manager.save(step, args=ocp.args.StandardSave(_arrays(state)))
        self.manager.wait_until_finished()

    def restore(self, step: int, template):
        """Restore checkpoint ``step`` into the structure (and sharding) of ``template``."""
        arrays, static = eqx.partition(template, eqx.is_array)
        leaves, treedef = jax.tree.flatten(arrays)
        abstract = {k: np.zeros(v.shape, v.dtype) for k, v in _arrays(template).items()}
        saved = self.manager.restore(step, args=ocp.args.StandardRestore(abstract))
        new_leaves = []
        for i, old in enumerate(leaves):
            value = np.asarray(saved[f"{i:05d}"])
            new = jax.random.wrap_key_data(value, impl=jax.random.key_impl(old)) if _is_key(
                old) else value
            sharding = getattr(old, "sharding", None)
            new_leaves.append(jax.device_put(new, sharding) if sharding is not None else new)
        return eqx.combine(jax.tree.unflatten(treedef, new_leaves), static)

    def close(self) -> None:
        self.manager.close()
