"""Spread independent runs (seeds, sweep points) over all devices with JAX's SPMD.

``vmap(train)`` over a leading seed axis, with that axis sharded over a one-dimensional
``Mesh`` named ``"seeds"``: every device trains its share of the seeds, and the numbers equal
those of a single-device run. Multi-host TPU/GPU: call ``jax.distributed.initialize()`` first;
``jax.devices()`` then lists every host's devices.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxrl.program import TrainProgram


def seed_mesh(devices=None) -> Mesh:
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), ("seeds",))


def shard_seeds(tree, mesh: Mesh | None = None):
    """Place ``tree`` (leading axis = seeds) sharded over ``mesh``'s devices.

    When the number of seeds is not a multiple of the device count the tree is left on the
    default device (a sharding must divide the axis evenly).
    """
    mesh = seed_mesh() if mesh is None else mesh
    n_dev = mesh.devices.size
    leaves = jax.tree.leaves(tree)
    if n_dev == 1 or not leaves or any(x.shape[0] % n_dev for x in leaves):
        return tree
    sharding = NamedSharding(mesh, PartitionSpec("seeds"))
    return jax.device_put(tree, sharding)


def run_seeds(program, keys, mesh: Mesh | None = None):
    """``vmap(program)(keys)`` with the seed axis sharded over all devices.

    A :class:`~jaxrl.program.TrainProgram` compiles as two programs, ``vmap(init)`` then
    ``vmap(run)``, as the experiment harness does. (One program holding both once stalled on a
    2-core CPU inside jaxlib's batched QR; the orthogonal initialiser no longer batches its QR:
    see :mod:`jaxrl.networks.init`.)
    """
    keys = shard_seeds(keys, mesh)
    if not isinstance(program, TrainProgram):
        return jax.jit(jax.vmap(program))(keys)
    states = jax.jit(jax.vmap(program.init))(keys)
    return jax.jit(jax.vmap(lambda s: program.run(s, program.num_updates)))(states)
