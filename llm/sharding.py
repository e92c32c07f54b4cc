"""Device meshes and shardings for LM training: data parallel and fully sharded (FSDP).

The mesh always has two axes, ``("data", "fsdp")``. The batch is split over both (every device
gets its own rows); parameters, and the optimizer state that mirrors them, are replicated over
"data" and split over "fsdp". ``make_mesh("data")`` puts every device on "data" (pure data
parallelism: each device holds a full copy), ``make_mesh("fsdp")`` puts every device on "fsdp"
(ZeRO-3 style: each device holds 1/n of every parameter and of the Adam moments, and XLA
gathers weights where they are used and reduce-scatters gradients); a hybrid is
``make_mesh(shape=(data, fsdp))``.

FSDP rule, where layout tables are silent: each array is split along its largest dimension that
the "fsdp" size divides (the first such on ties), and is replicated when none does (scalars,
odd sizes). The train step needs no change: ``jax.jit`` takes the shardings of its inputs and
the XLA SPMD partitioner inserts the collectives, so the sharded step computes the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXES = ("data", "fsdp")
BATCH = PartitionSpec(AXES)
STRATEGIES = ("data", "fsdp")


def make_mesh(strategy: str = "data", devices: Sequence[jax.Device] | None = None, *,
              shape: tuple[int, int] | None = None) -> Mesh:
    """A ("data", "fsdp") mesh over ``devices`` (default: all) for the given strategy."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices is empty")
    if shape is None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy={strategy!r}: expected one of {STRATEGIES}")
        shape = (len(devices), 1) if strategy == "data" else (1, len(devices))
    if len(shape) != 2 or shape[0] * shape[1] != len(devices):
        raise ValueError(f"shape={shape} does not hold {len(devices)} devices as (data, fsdp)")
    return Mesh(np.asarray(devices, dtype=object).reshape(shape), AXES)


def fsdp_spec(shape: tuple[int, ...], n: int) -> PartitionSpec:
    """The PartitionSpec of an array of ``shape`` over an "fsdp" axis of size ``n``."""
    divisible = [a for a, size in enumerate(shape) if n > 1 and size % n == 0]
    if not divisible:
        return PartitionSpec()
    axis = max(divisible, key=lambda a: (shape[a], -a))
    return PartitionSpec(*([None] * axis + ["fsdp"]))


def state_shardings(state, mesh: Mesh):
    """NamedShardings for every array of ``state`` (concrete or from ``nnx.eval_shape``)."""
    n = mesh.shape["fsdp"]
    return jax.tree.map(lambda x: NamedSharding(mesh, fsdp_spec(tuple(x.shape), n)), state)


def shard_model(node, mesh: Mesh):
    """Place ``node``'s variables (a model, or an optimizer: its moments follow the same rule)
    on ``mesh`` in place; returns ``node``. Shard the model before building its optimizer, or
    shard both."""
    state = nnx.state(node)
    nnx.update(node, jax.device_put(state, state_shardings(state, mesh)))
    return node


def shard_batch(batch, mesh: Mesh):
    """Split every array of ``batch`` along its first (batch) axis over all mesh devices."""
    sharding = NamedSharding(mesh, BATCH)

    def put(x):
        if x.shape[0] % mesh.size:
            raise ValueError(f"batch size {x.shape[0]} is not a multiple of the {mesh.size} "
                             "devices of the mesh")
        return jax.device_put(x, sharding)

    return jax.tree.map(put, batch)
