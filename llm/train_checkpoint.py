"""Orbax checkpoints of an LM training state: model variables, optimizer state and step.

Only arrays are written, as flat dicts keyed by the variables' paths ("model" / "optimizer"
then e.g. ``model.layers.0.mlp.up_proj.kernel``); the structure comes back from a ``build``
function that constructs (model, optimizer) the way training did. ``restore`` runs ``build``
under ``nnx.eval_shape``, so nothing is allocated before the saved arrays are read straight
into place (onto a mesh's shardings when one is given). Orbax writes each step into a temporary
directory and renames it when complete, so a crash never leaves a half-written checkpoint.
Typed PRNG keys (e.g. LoRA dropout streams) are stored as their raw key data.

    ckpt = TrainCheckpointer(out / "checkpoints")
    ckpt.save(model, optimizer)                       # step = optimizer.step
    model, optimizer = ckpt.restore(lambda: init_train_state(model_config, train_config))
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx
from jax.sharding import NamedSharding

from llm.sharding import fsdp_spec


def _is_key(x) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _flat(node) -> dict:
    """{dotted path: Variable} of every variable in ``node``."""
    return {".".join(map(str, path)): var for path, var in nnx.to_flat_state(nnx.state(node))}


def _arrays(node) -> dict:
    out = {}
    for name, var in _flat(node).items():
        value = var.get_value()
        out[name] = jax.random.key_data(value) if _is_key(value) else value
    return out


class TrainCheckpointer:
    """Keeps the newest ``max_to_keep`` training checkpoints under ``directory``."""

    def __init__(self, directory: str | Path, max_to_keep: int | None = 2):
        self.directory = Path(directory).absolute()
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True))

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def save(self, model: nnx.Module, optimizer: nnx.Optimizer, step: int | None = None) -> int:
        """Write (model, optimizer) as checkpoint ``step`` (default: the optimizer's step)."""
        step = int(optimizer.step[...]) if step is None else int(step)
        tree = {"model": _arrays(model), "optimizer": _arrays(optimizer)}
        self.manager.save(step, args=ocp.args.StandardSave(tree))
        self.manager.wait_until_finished()
        return step

    def restore(self, build, step: int | None = None, *, mesh=None):
        """(model, optimizer) of checkpoint ``step`` (default: the latest).

        ``build()`` must return (model, optimizer) shaped as at save time; it is only traced
        abstractly. With ``mesh``, every array is restored onto ``llm.sharding``'s layout for
        that mesh; without, as uncommitted arrays on the default device, like a fresh build's,
        so a step compiled for the original objects is reused.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint under {self.directory}")
        model, optimizer = nnx.eval_shape(build)
        parts = {"model": _flat(model), "optimizer": _flat(optimizer)}

        def target(var):
            value = var.get_value()
            if _is_key(value):
                value = jax.eval_shape(jax.random.key_data, value)
            if mesh is None:  # host arrays, then uncommitted device arrays as a fresh build has
                return np.empty(value.shape, value.dtype)
            sharding = NamedSharding(mesh, fsdp_spec(value.shape, mesh.shape["fsdp"]))
            return jax.ShapeDtypeStruct(value.shape, value.dtype, sharding=sharding)

        abstract = {part: {k: target(v) for k, v in flat.items()} for part, flat in parts.items()}
        saved = self.manager.restore(step, args=ocp.args.StandardRestore(abstract))
        for part, flat in parts.items():
            for name, var in flat.items():
                value = saved[part][name]
                if mesh is None:
                    value = jnp.asarray(value)
                old = var.get_value()
                if _is_key(old):
                    # an abstract key has no public key_impl; its dtype carries the impl
                    value = jax.random.wrap_key_data(value, impl=old.dtype._impl)
                var.set_value(value)
        return model, optimizer

    def close(self) -> None:
        self.manager.close()
