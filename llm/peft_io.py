"""LoRA adapters in peft's on-disk format: adapter_config.json + adapter_model.safetensors.

Tensor names are peft's, ``base_model.model.<module path>.lora_A.weight`` [r, in] and
``.lora_B.weight`` [out, r] (our A and B transposed). ``save_adapter`` writes ``target_modules``
as the expanded list of wrapped module paths, the form peft 0.21 writes for "all-linear", so peft
wraps exactly the layers we wrapped whatever pattern chose them. ``load_adapter`` reads adapters
written by us or by peft; every option, tensor name and shape is checked against the model from
the JSON and the safetensors header before an adapter is created or a weight read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import jax.numpy as jnp
from flax import nnx

from llm.checkpoint import _replace_dir
from llm.lora import LoraConfig, apply_lora, linear_layers, lora_layers, select

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PREFIX = "base_model.model."
TENSOR = re.compile(r"base_model\.model\.(.+)\.(lora_A|lora_B|base_layer)\.weight")
# peft options that change what an adapter computes and that this module does not implement;
# each is accepted only at its "unused" value (None, False, "none", empty).
UNSUPPORTED = ("use_dora", "lora_bias", "bias", "fan_in_fan_out", "rank_pattern",
               "alpha_pattern", "modules_to_save", "layers_to_transform", "layers_pattern",
               "layer_replication", "target_parameters", "trainable_token_indices", "use_qalora",
               "alora_invocation_tokens", "use_bdlora", "arrow_config", "kasa_config",
               "monteclora_config")
PEFT_DEFAULT_ALPHA = 8  # peft's LoraConfig.lora_alpha default, for a file that omits it


def save_adapter(model: nnx.Module, path: str | os.PathLike, *,
                 base_model_name_or_path: str | None = None) -> Path:
    """Write the model's LoRA adapters as a peft adapter directory; returns the path.

    All adapters must share r, lora_alpha, lora_dropout and use_rslora (peft's single-adapter
    config). The directory is written to a temporary sibling and renamed into place.
    """
    from safetensors.flax import save_file

    layers = lora_layers(model)
    if not layers:
        raise ValueError("save_adapter: the model has no LoRA layers (apply_lora first)")
    settings = {(m.r, m.lora_alpha, m.lora_dropout, m.use_rslora) for m in layers.values()}
    if len(settings) > 1:
        raise ValueError(f"save_adapter: the LoRA layers differ in (r, lora_alpha, lora_dropout, "
                         f"use_rslora): {sorted(settings)}; peft's format holds one setting")
    r, alpha, dropout, rslora = settings.pop()
    config = {
        "alpha_pattern": {}, "auto_mapping": None,
        "base_model_name_or_path": base_model_name_or_path, "bias": "none",
        "exclude_modules": None, "fan_in_fan_out": False, "inference_mode": True,
        "init_lora_weights": True, "layer_replication": None, "layers_pattern": None,
        "layers_to_transform": None, "lora_alpha": alpha, "lora_bias": False,
        "lora_dropout": dropout, "modules_to_save": None, "peft_type": "LORA", "r": r,
        "rank_pattern": {}, "revision": None, "target_modules": sorted(layers),
        "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": rslora,
    }
    tensors = {}
    for name, layer in layers.items():
        tensors[f"{PREFIX}{name}.lora_A.weight"] = jnp.asarray(layer.lora_a[...].T)
        tensors[f"{PREFIX}{name}.lora_B.weight"] = jnp.asarray(layer.lora_b[...].T)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        (tmp / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        save_file(tensors, str(tmp / ADAPTER_WEIGHTS), metadata={"format": "pt"})
        _replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_adapter_config(path: str | os.PathLike) -> LoraConfig:
    """The LoraConfig of a peft adapter directory, rejecting options this package lacks."""
    file = Path(path) / ADAPTER_CONFIG
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such file (not a peft adapter directory)")
    try:
        cfg = json.loads(file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{file}: not valid JSON ({err})") from err
    if not isinstance(cfg, dict):
        raise ValueError(f"{file}: expected a JSON object")
    if cfg.get("peft_type") != "LORA":
        raise ValueError(f"{file}: peft_type is {cfg.get('peft_type')!r}; only 'LORA' is "
                         "supported")
    if cfg.get("task_type") not in (None, "CAUSAL_LM"):
        raise ValueError(f"{file}: task_type is {cfg['task_type']!r}; only 'CAUSAL_LM' "
                         "adapters fit a causal language model")
    for field in UNSUPPORTED:
        value = cfg.get(field)
        if not (value is None or value is False or value == "none" or value in ({}, [], "")):
            raise ValueError(f"{file}: {field}={value!r} is not supported")
    if cfg.get("target_modules") is None:
        raise ValueError(f"{file}: target_modules is missing")
    try:
        return LoraConfig(r=cfg.get("r", 8), lora_alpha=cfg.get("lora_alpha", PEFT_DEFAULT_ALPHA),
                          lora_dropout=cfg.get("lora_dropout", 0.0),
                          target_modules=cfg["target_modules"],
                          exclude_modules=cfg.get("exclude_modules"),
                          use_rslora=cfg.get("use_rslora", False))
    except ValueError as err:
        raise ValueError(f"{file}: {err}") from err


def load_adapter(model: nnx.Module, path: str | os.PathLike, *,
                 rngs: nnx.Rngs | None = None) -> list[str]:
    """Apply the peft LoRA adapter in directory ``path`` to ``model`` in place.

    Returns the wrapped module paths. ``rngs`` seeds the adapters' dropout (default
    ``nnx.Rngs(0)``). A ``<module>.base_layer.weight`` that peft stores for a targeted
    ``lm_head`` replaces that layer's base weight, as peft's loader does. Raises
    FileNotFoundError for a missing file and ValueError naming the tensor or field for an
    adapter that does not fit the model, before the model is changed.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such adapter directory")
    config = read_adapter_config(path)
    file = path / ADAPTER_WEIGHTS
    if not file.is_file():
        pickled = " (only adapter_model.bin, a pickle, which is never read)" if (
            path / "adapter_model.bin").is_file() else ""
        raise FileNotFoundError(f"{file}: no such file{pickled}")
    targets = select(model, config)
    linears = linear_layers(model)
    with safe_open(file, framework="flax") as f:
        shapes = {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    found: dict[str, dict[str, str]] = {}
    for name, shape in shapes.items():
        match = TENSOR.fullmatch(name)
        if match is None:
            raise ValueError(f"{file.name}: tensor {name!r} is not a LoRA weight (expected "
                             f"{PREFIX}<module>.lora_A.weight / .lora_B.weight)")
        module, kind = match.groups()
        if module not in linears:
            raise ValueError(f"{file.name}: tensor {name!r} belongs to {module!r}, which is not "
                             "a linear layer of this model")
        if module not in targets:
            raise ValueError(f"{file.name}: tensor {name!r} belongs to {module!r}, which "
                             f"target_modules={config.target_modules!r} does not select")
        layer = linears[module]
        n_in, n_out = layer.in_features, layer.out_features
        expected = {"lora_A": (config.r, n_in), "lora_B": (n_out, config.r),
                    "base_layer": (n_out, n_in)}[kind]
        if shape != expected:
            raise ValueError(f"{file.name}: tensor {name!r} has shape {shape}, expected "
                             f"{expected} (r={config.r}, layer {n_in} -> {n_out})")
        found.setdefault(module, {})[kind] = name
    for module in targets:
        for kind in ("lora_A", "lora_B"):
            if kind not in found.get(module, {}):
                raise ValueError(f"{file.name}: missing tensor "
                                 f"{PREFIX}{module}.{kind}.weight")
    apply_lora(model, config, rngs=rngs if rngs is not None else nnx.Rngs(0))
    layers = lora_layers(model)
    with safe_open(file, framework="flax") as f:
        for module, names in found.items():
            layer = layers[module]
            layer.lora_a[...] = f.get_tensor(names["lora_A"]).T.astype(layer.lora_a.dtype)
            layer.lora_b[...] = f.get_tensor(names["lora_B"]).T.astype(layer.lora_b.dtype)
            if "base_layer" in names:
                kernel = layer.base.kernel
                kernel[...] = f.get_tensor(names["base_layer"]).T.astype(kernel.dtype)
    return targets
