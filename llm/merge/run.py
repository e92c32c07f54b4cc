"""Merge checkpoint directories tensor by tensor: ``merge(config, out_dir)``.

For each output tensor, the parents' copies are read (``Parent.read``, from mmapped safetensors),
combined by the rule of ``llm.merge.methods``, cast, and appended to the output file by a
header-first ``StreamingWriter``; nothing is kept. Peak memory is therefore a few tensors (the
parents' copies of one tensor, float32 working copies and, for TIES/DARE, a stack of task
vectors), whatever the model size; tests/llm/test_merge_memory.py measures it.

Output: config.json of the base model (the first model for linear) with the output dtype and
``tie_word_embeddings`` (true only when every parent is tied), safetensors sharded at
``max_shard_bytes`` with an index as ``save_pretrained`` writes, the base's tokenizer and
generation files, and ``merge_config.yaml``. The directory is built beside ``out_dir`` and renamed
into place when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np

from llm.checkpoint import INDEX, WEIGHTS
from llm.merge import methods
from llm.merge.config import MergeConfig
from llm.merge.parents import LM_HEAD, MergeError, Parent, check_compatible
from llm.merge.safetensors_stream import StreamingWriter

COPIED_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json",
                "chat_template.jinja", "generation_config.json")


def open_parents(config: MergeConfig) -> tuple[Parent | None, list[Parent]]:
    """(base or None, the other models in config order), checked compatible with each other."""
    base = None if config.base_model is None else Parent(config.base_model)
    others = [Parent(m.model) for m in config.others()]
    check_compatible(([base] if base is not None else []) + others)
    return base, others


def tensor_seed(seed: int, name: str) -> np.random.Generator:
    """DARE's generator for one tensor: depends on the seed and the name, not the order."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def merge_tensor(config: MergeConfig, name: str, base: Parent | None,
                 others: list[Parent]) -> np.ndarray:
    """The merged value of tensor ``name`` (float32/float64, not yet cast)."""
    method, specs = config.merge_method, config.others()
    p = config.parameter
    if method == "slerp":
        return methods.slerp(float(p("t", specs[0], name)), base.read(name),
                             others[0].read(name))
    weights = [float(p("weight", s, name)) for s in specs]
    if method == "mergealign":
        return methods.mergealign(others[0].read(name), others[1].read(name), weights[0])
    tensors = [o.read(name) for o in others]
    normalize = bool(p("normalize", None, name))
    if method == "linear":
        return methods.linear(tensors, weights, normalize=normalize)
    lam = float(p("lambda", None, name, 1.0))
    b = base.read(name)
    if method == "task_arithmetic":
        return methods.task_arithmetic(b, tensors, weights, lam=lam, normalize=normalize)
    densities = [float(p("density", s, name, 1.0)) for s in specs]
    consensus = p("consensus", None, name, "sum")
    if method == "ties":
        return methods.ties(b, tensors, weights, densities, lam=lam, normalize=normalize,
                            consensus=consensus)
    how = p("rescale", None, name, True)
    how = {True: "inverse", False: None}.get(how, how) if isinstance(how, bool) else how
    if how not in methods.RESCALE:
        raise MergeError(f"parameters.rescale={how!r}: expected true, false, 'inverse' or 'l1'")
    return methods.dare(tensor_seed(config.random_seed, name), b, tensors, weights, densities,
                        ties=method == "dare_ties", lam=lam, normalize=normalize,
                        rescale_how=how, consensus=consensus)


def plan(config: MergeConfig, base: Parent | None, others: list[Parent]):
    """(output tensor names -> (dtype, shape), tied output?) from the headers alone."""
    reference = base if base is not None else others[0]
    tied = all(p.tied for p in ([base] if base else []) + others)
    if config.dtype == "bfloat16":
        import ml_dtypes

        dtype = np.dtype(ml_dtypes.bfloat16)
    else:
        dtype = np.dtype(config.dtype) if config.dtype else None
    out = {}
    for name in reference.names():
        if tied and name == LM_HEAD:
            continue
        out[name] = (reference.dtypes[name] if dtype is None else dtype, reference.shapes[name])
    return out, tied


def _shards(layout: dict, max_bytes: int) -> list[list[str]]:
    shards, current, size = [], [], 0
    for name, (dtype, shape) in layout.items():
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if current and size + nbytes > max_bytes:
            shards.append(current)
            current, size = [], 0
        current.append(name)
        size += nbytes
    shards.append(current)
    return shards


def merge(config: MergeConfig, out_dir: str | os.PathLike, *, max_shard_bytes: int = 5 << 30,
          progress: bool = False) -> Path:
    """Run ``config`` and write the merged Hugging Face checkpoint to ``out_dir``."""
    out_dir = Path(out_dir)
    base, others = open_parents(config)
    reference = base if base is not None else others[0]
    layout, tied = plan(config, base, others)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        shards = _shards(layout, max_shard_bytes)
        files = ([WEIGHTS] if len(shards) == 1 else
                 [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
                  for i in range(len(shards))])
        weight_map, total, done = {}, 0, 0
        for fname, names in zip(files, shards):
            with StreamingWriter(tmp / fname, [(n, *layout[n]) for n in names],
                                 metadata={"format": "pt"}) as writer:
                for name in names:
                    value = merge_tensor(config, name, base, others)
                    writer.write(name, value.astype(layout[name][0], copy=False))
                    del value
                    weight_map[name] = fname
                    done += 1
                    if progress:
                        print(f"  merged {done}/{len(layout)} {name}", flush=True)
                total += writer.nbytes
        if len(files) > 1:
            (tmp / INDEX).write_text(json.dumps({"metadata": {"total_size": total},
                                                 "weight_map": weight_map}, indent=2) + "\n")
        hf = dict(reference.config)
        hf["tie_word_embeddings"] = tied
        dtype = config.dtype or str(next(iter(layout.values()))[0])
        hf["dtype"] = dtype
        if "torch_dtype" in hf:
            hf["torch_dtype"] = dtype
        (tmp / "config.json").write_text(json.dumps(hf, indent=2) + "\n")
        for f in COPIED_FILES:
            if (reference.path / f).is_file():
                shutil.copyfile(reference.path / f, tmp / f)
        import yaml

        (tmp / "merge_config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        _publish(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        for p in ([base] if base else []) + others:
            p.close()
    return out_dir


def _publish(tmp: Path, target: Path) -> None:
    """Rename the finished ``tmp`` to ``target``, replacing an old one only at the end."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / "x")
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
