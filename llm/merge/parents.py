"""The checkpoints being merged, read tensor by tensor from their safetensors headers and mmaps.

A ``Parent`` knows every tensor's name, shape and dtype from the headers alone (single file or
sharded with ``model.safetensors.index.json``, via ``llm.checkpoint.weight_files``) and reads one
tensor at a time with ``safetensors.safe_open``. ``check_compatible`` refuses parents that cannot
be merged entry by entry, naming the field or tensor and both values.

Tied embeddings: a parent with ``tie_word_embeddings`` has no ``lm_head.weight`` of its own (any
stored copy is ignored); asked for it, it returns its ``model.embed_tokens.weight``. So tied and
untied parents merge, and the result is untied when any parent is untied.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from llm.checkpoint import IGNORED_SUFFIXES, CheckpointError, resolve, weight_files

LM_HEAD, EMBED = "lm_head.weight", "model.embed_tokens.weight"
ARCHITECTURE_FIELDS = ("model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                       "num_attention_heads", "num_key_value_heads", "head_dim")
"""config.json fields that must agree (absent ``head_dim`` / ``num_key_value_heads`` take their
Hugging Face defaults hidden_size / heads and heads); tensor names and shapes are checked too."""


def architecture(config: dict) -> dict:
    """The ARCHITECTURE_FIELDS of a config.json, with Hugging Face's defaults filled in."""
    out = {f: config.get(f) for f in ARCHITECTURE_FIELDS}
    heads = out["num_attention_heads"]
    if out["num_key_value_heads"] is None:
        out["num_key_value_heads"] = heads
    if out["head_dim"] is None and heads and out["hidden_size"]:
        out["head_dim"] = out["hidden_size"] // heads
    return out


class MergeError(ValueError):
    """Parents or a merge config that cannot be merged; the message names the field/tensor."""


class Parent:
    """One checkpoint directory: ``config`` (config.json as a dict), ``shapes``/``dtypes`` per
    tensor name (headers only), ``read(name)`` one tensor as a numpy array."""

    def __init__(self, path):
        self.path = resolve(path)
        try:
            self.config = json.loads((self.path / "config.json").read_text())
        except FileNotFoundError:
            raise MergeError(f"{self.path}: missing config.json") from None
        self.tied = bool(self.config.get("tie_word_embeddings", False))
        self.files = {n: f for n, f in weight_files(self.path).items()
                      if not n.endswith(IGNORED_SUFFIXES) and not (self.tied and n == LM_HEAD)}
        from safetensors import safe_open

        self.shapes, self.dtypes = {}, {}
        for file in sorted(set(self.files.values())):
            with safe_open(file, framework="numpy") as f:
                for name in f.keys():  # noqa: SIM118 (safe_open is not a dict)
                    if name in self.files and self.files[name] == file:
                        s = f.get_slice(name)
                        self.shapes[name] = tuple(s.get_shape())
                        self.dtypes[name] = _numpy_dtype(s.get_dtype(), file, name)
        if self.tied and EMBED in self.shapes:
            self.shapes[LM_HEAD], self.dtypes[LM_HEAD] = self.shapes[EMBED], self.dtypes[EMBED]
        self._handles: dict[Path, object] = {}

    def names(self) -> list[str]:
        """Tensor names this parent provides (with ``lm_head.weight`` when tied)."""
        return list(self.shapes)

    def read(self, name: str) -> np.ndarray:
        """One tensor, read from its file (the file is mmapped; only this tensor is copied)."""
        if self.tied and name == LM_HEAD:
            name = EMBED
        file = self.files[name]
        if file not in self._handles:
            from safetensors import safe_open

            self._handles[file] = safe_open(file, framework="numpy")
        return self._handles[file].get_tensor(name)

    def close(self) -> None:
        self._handles.clear()

    def __repr__(self):
        return f"Parent({str(self.path)!r})"


def _numpy_dtype(name: str, file: Path, tensor: str) -> np.dtype:
    table = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
             "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
             "BOOL": "bool"}
    if name not in table:
        raise CheckpointError(f"{file.name}: tensor {tensor!r} has unsupported dtype {name}")
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16) if name == "BF16" else np.dtype(table[name])


def check_compatible(parents: list[Parent]) -> None:
    """Raise ``MergeError`` unless all parents have one architecture, vocabulary and tensor set.

    Vocabularies of different sizes are refused, not resized: token ids of different tokenizers
    need not mean the same thing, so no row-wise rule is safe without a token map.
    """
    first = parents[0]
    for other in parents[1:]:
        a, b = first.config, other.config
        if a.get("vocab_size") != b.get("vocab_size"):
            raise MergeError(
                f"vocabulary mismatch: {first.path} has vocab_size={a.get('vocab_size')} but "
                f"{other.path} has vocab_size={b.get('vocab_size')}; parents must share one "
                "tokenizer (resize/retokenize them first)")
        arch_a, arch_b = architecture(a), architecture(b)
        for field in ARCHITECTURE_FIELDS:
            if arch_a[field] != arch_b[field]:
                raise MergeError(f"architecture mismatch in config.json field {field!r}: "
                                 f"{arch_a[field]!r} in {first.path} but {arch_b[field]!r} in "
                                 f"{other.path}")
        only_a = sorted(set(first.shapes) - set(other.shapes))
        only_b = sorted(set(other.shapes) - set(first.shapes))
        if only_a or only_b:
            name, where = (only_a[0], other.path) if only_a else (only_b[0], first.path)
            raise MergeError(f"tensor {name!r} is missing from {where} "
                             f"({len(only_a) + len(only_b)} tensors differ between {first.path} "
                             f"and {other.path})")
        for name, shape in first.shapes.items():
            if other.shapes[name] != shape:
                raise MergeError(f"tensor {name!r} has shape {shape} in {first.path} but "
                                 f"{other.shapes[name]} in {other.path}")
