"""Hugging Face checkpoint directories: read and write config.json, safetensors and the tokenizer.

``load(path)`` accepts a local directory or a hub id ("Qwen/Qwen2.5-0.5B-Instruct", fetched with
huggingface_hub when the machine is online). Weights are read with safetensors only, never pickle.
Every tensor's name and shape is checked against the config from the safetensors headers before a
single weight is read or allocated. ``save`` writes a directory that ``transformers`` loads back,
into a temporary sibling first and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
from flax import nnx

from llm.config import QwenConfig
from llm.model import Qwen

WEIGHTS = "model.safetensors"
INDEX = "model.safetensors.index.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


class CheckpointError(ValueError):
    """A checkpoint directory that does not match the model; the message names the file/tensor."""


def tensor_layout(config: QwenConfig) -> dict[str, tuple[tuple, tuple[int, ...], bool]]:
    """Hugging Face tensor name -> (path in our module tree, HF shape, stored transposed)."""
    c = config
    out = {"model.embed_tokens.weight": (("model", "embed_tokens", "embedding"),
                                         (c.vocab_size, c.hidden_size), False),
           "model.norm.weight": (("model", "norm", "weight"), (c.hidden_size,), False)}
    if not c.tie_word_embeddings:
        out["lm_head.weight"] = (("lm_head", "kernel"), (c.vocab_size, c.hidden_size), True)
    linears = {"self_attn.q_proj": (c.q_size, c.hidden_size, c.attention_bias),
               "self_attn.k_proj": (c.kv_size, c.hidden_size, c.attention_bias),
               "self_attn.v_proj": (c.kv_size, c.hidden_size, c.attention_bias),
               "self_attn.o_proj": (c.hidden_size, c.q_size, c.o_bias),
               "mlp.gate_proj": (c.intermediate_size, c.hidden_size, False),
               "mlp.up_proj": (c.intermediate_size, c.hidden_size, False),
               "mlp.down_proj": (c.hidden_size, c.intermediate_size, False)}
    for i in range(c.num_hidden_layers):
        prefix = ("model", "layers", i)
        name = f"model.layers.{i}"
        for norm in ("input_layernorm", "post_attention_layernorm"):
            out[f"{name}.{norm}.weight"] = (prefix + (norm, "weight"), (c.hidden_size,), False)
        if c.qk_norm:
            for norm in ("q_norm", "k_norm"):
                out[f"{name}.self_attn.{norm}.weight"] = (
                    prefix + ("self_attn", norm, "weight"), (c.head_dim,), False)
        for lin, (n_out, n_in, bias) in linears.items():
            path = prefix + tuple(lin.split("."))
            out[f"{name}.{lin}.weight"] = (path + ("kernel",), (n_out, n_in), True)
            if bias:
                out[f"{name}.{lin}.bias"] = (path + ("bias",), (n_out,), False)
    return out


def variable_at(model: nnx.Module, path: tuple) -> nnx.Variable:
    """The variable at ``path``; a wrapped linear layer (e.g. LoRA) is entered through ``.base``."""
    obj = model
    for key in path:
        if isinstance(key, int):
            obj = obj[key]
        else:
            if not hasattr(obj, key) and hasattr(obj, "base"):
                obj = obj.base
            obj = getattr(obj, key)
    return obj


# ---------------------------------------------------------------------------------------------
# Reading


def resolve(path: str | os.PathLike) -> Path:
    """A local checkpoint directory, downloading a hub id (``org/name``) when online."""
    local = Path(path).expanduser()
    if local.is_dir():
        return local
    text = str(path)
    if local.exists():
        raise CheckpointError(f"{text}: expected a checkpoint directory, found a file")
    if text.count("/") != 1 or text.startswith((".", "/", "~")):
        raise FileNotFoundError(f"{text}: no such checkpoint directory")
    try:
        from huggingface_hub import snapshot_download

        got = snapshot_download(text, allow_patterns=["*.json", "*.safetensors", "*.txt",
                                                      "tokenizer.model"])
    except Exception as err:  # offline, unknown repository, gated model, ...
        raise FileNotFoundError(f"{text}: not a local directory, and downloading it from the "
                                f"Hugging Face hub failed ({type(err).__name__}: {err})") from err
    return Path(got)


def read_config(directory: Path) -> QwenConfig:
    file = directory / "config.json"
    if not file.is_file():
        raise CheckpointError(f"{directory}: missing config.json")
    try:
        hf = json.loads(file.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{file}: not valid JSON ({err})") from err
    return QwenConfig.from_hf(hf, source=str(file))


def weight_files(directory: Path) -> dict[str, Path]:
    """Tensor name -> safetensors file holding it (single file or sharded with an index)."""
    from safetensors import safe_open

    index = directory / INDEX
    if index.is_file():
        weight_map = json.loads(index.read_text()).get("weight_map")
        if not isinstance(weight_map, dict):
            raise CheckpointError(f"{index}: expected a 'weight_map' object")
        files = {name: directory / f for name, f in weight_map.items()}
        for f in set(files.values()):
            if not f.is_file():
                raise CheckpointError(f"{index}: shard {f.name} is missing")
        return files
    single = directory / WEIGHTS
    if single.is_file():
        with safe_open(single, framework="numpy") as f:
            return {name: single for name in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    if any(directory.glob("*.bin")) or any(directory.glob("*.pt")):
        raise CheckpointError(f"{directory}: only pickle weights (*.bin) found; this package reads "
                              "safetensors only (convert with transformers' save_pretrained("
                              "safe_serialization=True))")
    raise CheckpointError(f"{directory}: no {WEIGHTS} or {INDEX}")


def _by_file(layout: dict, files: dict[str, Path]) -> dict[Path, list[str]]:
    """The model's tensor names grouped by the safetensors file that holds them."""
    grouped: dict[Path, list[str]] = {}
    for name in layout:
        grouped.setdefault(files[name], []).append(name)
    return grouped


def check_tensors(config: QwenConfig, files: dict[str, Path]) -> None:
    """Raise CheckpointError naming the first missing or misshapen tensor (reads headers only)."""
    from safetensors import safe_open

    layout = tensor_layout(config)
    missing = [n for n in layout if n not in files]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise CheckpointError(f"missing tensor {missing[0]!r}{more} (in "
                              f"{next(iter(files.values())).parent})")
    for file, names in _by_file(layout, files).items():
        with safe_open(file, framework="numpy") as f:
            for name in names:
                shape = tuple(f.get_slice(name).get_shape())
                if shape != layout[name][1]:
                    raise CheckpointError(f"{file.name}: tensor {name!r} has shape {shape}, "
                                          f"expected {layout[name][1]} from config.json")
    extra = [n for n in files if n not in layout and not n.endswith(IGNORED_SUFFIXES)
             and not (n == "lm_head.weight" and config.tie_word_embeddings)]
    if extra:
        warnings.warn(f"checkpoint tensors not used by the model: {extra[:5]}"
                      f"{' ...' if len(extra) > 5 else ''}", stacklevel=3)


def load_tokenizer(directory: Path, config: QwenConfig):
    """The tokenizer beside the weights (None when there is none), checked against the vocab."""
    if not any((directory / f).is_file() for f in TOKENIZER_FILES):
        return None
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    if len(tokenizer) > config.vocab_size:
        raise CheckpointError(f"{directory}: tokenizer has {len(tokenizer)} tokens but "
                              f"config.json vocab_size={config.vocab_size}: its ids would not fit "
                              "the embedding")
    return tokenizer


def load(path: str | os.PathLike, *, dtype=None, param_dtype=None, tokenizer: bool = True):
    """Read a Hugging Face Qwen2/Qwen3 checkpoint: returns (model, tokenizer or None).

    ``param_dtype`` defaults to the checkpoint's stored dtype; ``dtype`` (computation) to
    ``param_dtype``. The architecture, tensor names/shapes and tokenizer size are validated before
    any weight is read.
    """
    directory = resolve(path)
    config = read_config(directory)
    files = weight_files(directory)
    check_tensors(config, files)
    tok = load_tokenizer(directory, config) if tokenizer else None
    param_dtype = jnp.dtype(param_dtype or config.dtype)
    dtype = jnp.dtype(dtype or param_dtype)
    model = nnx.eval_shape(lambda: Qwen(config, rngs=nnx.Rngs(0), dtype=dtype,
                                        param_dtype=param_dtype))
    from safetensors import safe_open

    layout = tensor_layout(config)
    for file, names in _by_file(layout, files).items():
        with safe_open(file, framework="flax") as f:
            for name in names:
                path_, _, transposed = layout[name]
                array = f.get_tensor(name)
                if transposed:
                    array = array.T
                variable_at(model, path_).value = jnp.asarray(array, param_dtype)
    return model, tok


# ---------------------------------------------------------------------------------------------
# Writing


def state_dict(model: Qwen) -> dict[str, jax.Array]:
    """Hugging Face tensor name -> array (HF layout), for the model's base weights."""
    out = {}
    for name, (path, _, transposed) in tensor_layout(model.config).items():
        array = variable_at(model, path).value
        out[name] = array.T if transposed else array
    return out


def save(model: Qwen, tokenizer, path: str | os.PathLike, *, max_shard_bytes: int = 2 << 30,
         dtype=None) -> Path:
    """Write ``path`` as a Hugging Face checkpoint directory (config.json, safetensors, tokenizer).

    Replaces an existing directory only once the new one is complete. Weights above
    ``max_shard_bytes`` are split into shards with an index, as ``save_pretrained`` does.
    """
    from safetensors.flax import save_file

    path = Path(path)
    tensors = state_dict(model)
    if dtype is not None:
        tensors = {k: v.astype(dtype) for k, v in tensors.items()}
    stored = str(jnp.dtype(next(iter(tensors.values())).dtype))
    config = model.config.replace(dtype=stored)
    if tokenizer is not None and len(tokenizer) > config.vocab_size:
        raise CheckpointError(f"tokenizer has {len(tokenizer)} tokens, more than the model's "
                              f"vocab_size={config.vocab_size}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        (tmp / "config.json").write_text(json.dumps(config.to_hf(), indent=2) + "\n")
        shards = _shard(tensors, max_shard_bytes)
        if len(shards) == 1:
            save_file(shards[0], str(tmp / WEIGHTS), metadata={"format": "pt"})
        else:
            weight_map, total = {}, 0
            for i, shard in enumerate(shards):
                fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
                save_file(shard, str(tmp / fname), metadata={"format": "pt"})
                for name, array in shard.items():
                    weight_map[name] = fname
                    total += array.nbytes
            index = {"metadata": {"total_size": total}, "weight_map": weight_map}
            (tmp / INDEX).write_text(json.dumps(index, indent=2) + "\n")
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp))
        _replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _shard(tensors: dict, max_bytes: int) -> list[dict]:
    shards, current, size = [], {}, 0
    for name, array in tensors.items():
        if current and size + array.nbytes > max_bytes:
            shards.append(current)
            current, size = {}, 0
        current[name] = array
        size += array.nbytes
    shards.append(current)
    return shards


def _replace_dir(new: Path, target: Path) -> None:
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / "x")
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)

