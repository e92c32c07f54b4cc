"""LoRA adapters on ``nnx.Linear`` layers (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large
Language Models", eq. 3), with peft's conventions so adapters move between the two.

A wrapped layer computes ``y = base(x) + (dropout(x) A) B * scaling`` with A [in, r], B [r, out]
and ``scaling = lora_alpha / r`` (``lora_alpha / sqrt(r)`` with ``use_rslora``, Kalajdzievski
2023, "A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA"). As in peft, A starts
kaiming-uniform with a = sqrt(5) (torch Linear's default: U(-1/sqrt(in), 1/sqrt(in))) and B at
zero, so a fresh adapter leaves the model's output unchanged; dropout acts on the LoRA input only.

Layers are chosen with peft's rules on dotted Hugging Face-style paths
(``model.layers.0.self_attn.q_proj``, ``lm_head``): a list of names selects a layer whose path is
one of them or ends with ``"." + name``; a string is a regular expression matched against the
whole path; ``"all-linear"`` selects every linear layer except ``lm_head``.

A and B are ``nnx.LoRAParam``, so ``nnx.Optimizer(model, tx, wrt=nnx.LoRAParam)`` trains the
adapters alone. The wrapped layer stays reachable as ``.base``, which is how ``llm.save`` finds
the base weights; save a model with the adapters folded in through ``merged_model``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from llm.products import lora_product

ALL_LINEAR = "all-linear"
OUTPUT_LAYER = "lm_head"


@dataclasses.dataclass(frozen=True)
class LoraConfig:
    """Which linear layers get an adapter and its shape, with peft's field names.

    Defaults are peft's except ``lora_alpha`` = 16 (scaling 2; peft's default is 8);
    ``target_modules`` defaults to peft's choice for Qwen2/Qwen3 (q_proj and v_proj). A list is
    stored as a tuple (a set sorted). ``exclude_modules`` removes layers from the selection, with
    the same rules.
    """

    r: int = 8
    lora_alpha: float = 16
    lora_dropout: float = 0.0
    target_modules: Sequence[str] | str = ("q_proj", "v_proj")
    exclude_modules: Sequence[str] | str | None = None
    use_rslora: bool = False

    def __post_init__(self):
        if isinstance(self.r, bool) or not isinstance(self.r, int) or self.r <= 0:
            raise ValueError(f"LoraConfig.r must be a positive integer, got {self.r!r}")
        if (isinstance(self.lora_alpha, bool) or not isinstance(self.lora_alpha, (int, float))
                or not self.lora_alpha > 0):
            raise ValueError(f"LoraConfig.lora_alpha must be a positive number, "
                             f"got {self.lora_alpha!r}")
        if (isinstance(self.lora_dropout, bool) or not isinstance(self.lora_dropout, (int, float))
                or not 0.0 <= self.lora_dropout < 1.0):
            raise ValueError(f"LoraConfig.lora_dropout must be in [0, 1), "
                             f"got {self.lora_dropout!r}")
        if not isinstance(self.use_rslora, bool):
            raise ValueError(f"LoraConfig.use_rslora must be a bool, got {self.use_rslora!r}")
        object.__setattr__(self, "target_modules",
                           _pattern("target_modules", self.target_modules))
        if self.exclude_modules is not None:
            object.__setattr__(self, "exclude_modules",
                               _pattern("exclude_modules", self.exclude_modules))

    @property
    def all_linear(self) -> bool:
        return isinstance(self.target_modules, str) and self.target_modules.lower() == ALL_LINEAR

    def selects(self, path: str) -> bool:
        """Whether dotted ``path`` is selected (peft's rules; "all-linear" leaves the module type
        to ``select``)."""
        if self.exclude_modules is not None and _matches(self.exclude_modules, path):
            return False
        if self.all_linear:
            return path != OUTPUT_LAYER
        return _matches(self.target_modules, path)


def _pattern(field: str, value) -> tuple[str, ...] | str:
    if isinstance(value, str):
        if not value:
            raise ValueError(f"LoraConfig.{field} must not be empty")
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"LoraConfig.{field}: {value!r} is not a valid regular expression "
                             f"({err})") from err
        return value
    if not isinstance(value, (Sequence, set, frozenset)):
        raise ValueError(f"LoraConfig.{field} must be a list of module names or a regular "
                         f"expression string, got {type(value).__name__}")
    names = tuple(sorted(value)) if isinstance(value, (set, frozenset)) else tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"LoraConfig.{field} must be a non-empty list of non-empty names, "
                         f"got {value!r}")
    return names


def _matches(pattern: tuple[str, ...] | str, path: str) -> bool:
    if isinstance(pattern, str):
        return re.fullmatch(pattern, path) is not None
    return path in pattern or any(path.endswith("." + name) for name in pattern)


class LoRALinear(nnx.Module):
    """``base(x) + (dropout(x) @ lora_a) @ lora_b * scaling`` around an ``nnx.Linear``.

    ``lora_a`` [in, r] and ``lora_b`` [r, out] are ``nnx.LoRAParam`` stored in ``param_dtype``
    (float32 by default, as peft upcasts adapters of half-precision models); the LoRA product
    runs in the base layer's output dtype. Dropout starts off (``model.train()`` turns it on,
    ``model.eval()`` off again). While ``disabled`` the forward pass is the base layer's alone.
    While ``merged`` the adapter lives in the base kernel and the forward pass is the base
    layer's alone; merge then unmerge restores the kernel up to rounding
    in its dtype (float32: ~1e-8; bfloat16 loses low bits, as peft's does).
    """

    def __init__(self, base: nnx.Linear, *, r: int, lora_alpha: float, lora_dropout: float = 0.0,
                 use_rslora: bool = False, rngs: nnx.Rngs, param_dtype=jnp.float32):
        if not isinstance(base, nnx.Linear):
            raise TypeError(f"LoRALinear wraps an nnx.Linear, got {type(base).__name__}")
        n_in, n_out = base.in_features, base.out_features
        bound = 1.0 / math.sqrt(n_in)
        self.base = base
        self.lora_a = nnx.LoRAParam(jax.random.uniform(rngs.params(), (n_in, r), param_dtype,
                                                       -bound, bound))
        self.lora_b = nnx.LoRAParam(jnp.zeros((r, n_out), param_dtype))
        self.r = r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.use_rslora = use_rslora
        self.scaling = lora_alpha / (math.sqrt(r) if use_rslora else r)
        self.dropout = (nnx.Dropout(lora_dropout, deterministic=True, rngs=rngs)
                        if lora_dropout > 0 else None)
        self.merged = False
        self.disabled = False  # True: the adapter is switched off (peft's disable_adapter)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.adapt(x, self.base(x))

    def adapt(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``y`` (the base layer's output on ``x``) plus the adapter's term when it is active
        (``llm.fused_linear`` computes several base layers' outputs in one product)."""
        if self.merged or self.disabled:
            return y
        h = x if self.dropout is None else self.dropout(x)
        a = self.lora_a[...].astype(y.dtype)
        b = self.lora_b[...].astype(y.dtype)
        return y + lora_product(h.astype(y.dtype), a, b, self.scaling)

    def delta(self) -> jax.Array:
        """scaling * A @ B [in, out] in float32: what merging adds to the base kernel."""
        a = self.lora_a[...].astype(jnp.float32)
        return (a @ self.lora_b[...].astype(jnp.float32)) * self.scaling

    def merge(self) -> None:
        if not self.merged:
            kernel = self.base.kernel
            kernel[...] = (kernel[...].astype(jnp.float32) + self.delta()).astype(kernel.dtype)
            self.merged = True

    def unmerge(self) -> None:
        if self.merged:
            kernel = self.base.kernel
            kernel[...] = (kernel[...].astype(jnp.float32) - self.delta()).astype(kernel.dtype)
            self.merged = False


def dotted(path: tuple) -> str:
    return ".".join(str(k) for k in path)


def linear_layers(model: nnx.Module) -> dict[str, nnx.Linear | LoRALinear]:
    """Dotted path -> every linear layer of the model (a LoRA-wrapped one as its wrapper)."""
    out = {}
    for path, module in nnx.iter_modules(model):
        if isinstance(module, (nnx.Linear, LoRALinear)) and not _inside_lora(model, path):
            out[dotted(path)] = module
    return out


def lora_layers(model: nnx.Module) -> dict[str, LoRALinear]:
    """Dotted path -> LoRA-wrapped layer."""
    return {p: m for p, m in linear_layers(model).items() if isinstance(m, LoRALinear)}


def _inside_lora(model, path: tuple) -> bool:
    obj = model
    for key in path[:-1]:
        obj = obj[key] if isinstance(key, int) else getattr(obj, key)
        if isinstance(obj, LoRALinear):
            return True
    return False


def select(model: nnx.Module, config: LoraConfig) -> list[str]:
    """The dotted paths of the linear layers ``config`` selects, in module-tree order.

    Raises ValueError, before anything changes, when the selection is empty (listing the layer
    names that exist), names a module that is not a linear layer (LoRA here wraps nnx.Linear
    only), or names a layer that already has an adapter.
    """
    linears = linear_layers(model)
    chosen = []
    for path, module in nnx.iter_modules(model):
        name = dotted(path)
        if not path or _inside_lora(model, path) or not config.selects(name):
            continue
        if config.all_linear and not isinstance(module, (nnx.Linear, LoRALinear)):
            continue
        if isinstance(module, LoRALinear):
            raise ValueError(f"{name} already has a LoRA adapter (remove_lora first)")
        if not isinstance(module, nnx.Linear):
            raise ValueError(f"target_modules={config.target_modules!r} selects {name}, a "
                             f"{type(module).__name__}; LoRA wraps nnx.Linear layers only")
        chosen.append(name)
    if not chosen:
        names = sorted({p.rsplit(".", 1)[-1] for p in linears})
        example = next(iter(linears), "none")
        raise ValueError(f"target_modules={config.target_modules!r} selects no linear layer; "
                         f"the model's linear layers are named {names} (full paths like "
                         f"{example!r})")
    return chosen


def apply_lora(model: nnx.Module, config: LoraConfig, *, rngs: nnx.Rngs) -> list[str]:
    """Wrap every linear layer ``config`` selects in a ``LoRALinear``, in place.

    Returns the wrapped dotted paths. A tied Qwen has no ``lm_head`` linear layer to target.
    """
    paths = select(model, config)
    for name in paths:
        parent, key = _parent(model, name)
        base = parent[key] if isinstance(key, int) else getattr(parent, key)
        layer = LoRALinear(base, r=config.r, lora_alpha=config.lora_alpha,
                           lora_dropout=config.lora_dropout, use_rslora=config.use_rslora,
                           rngs=rngs)
        if isinstance(key, int):
            parent[key] = layer
        else:
            setattr(parent, key, layer)
    return paths


def _parent(model, name: str):
    keys = [int(k) if k.isdigit() else k for k in name.split(".")]
    obj = model
    for key in keys[:-1]:
        obj = obj[key] if isinstance(key, int) else getattr(obj, key)
    return obj, keys[-1]


def merge_lora(model: nnx.Module) -> list[str]:
    """Fold scaling * A @ B into each wrapped layer's kernel; returns the merged paths."""
    layers = lora_layers(model)
    for layer in layers.values():
        layer.merge()
    return list(layers)


def unmerge_lora(model: nnx.Module) -> list[str]:
    """Subtract the adapters back out of merged kernels (exact up to float rounding)."""
    layers = lora_layers(model)
    for layer in layers.values():
        layer.unmerge()
    return list(layers)


def remove_lora(model: nnx.Module, *, merge: bool = True) -> nnx.Module:
    """Replace each ``LoRALinear`` by its base layer, in place, and return the model.

    ``merge=True`` keeps the adapters' effect in the kernels (peft's merge_and_unload);
    ``merge=False`` restores the base layers (peft's unload).
    """
    for name, layer in lora_layers(model).items():
        if merge:
            layer.merge()
        else:
            layer.unmerge()
        parent, key = _parent(model, name)
        if isinstance(key, int):
            parent[key] = layer.base
        else:
            setattr(parent, key, layer.base)
    return model


def merged_model(model: nnx.Module) -> nnx.Module:
    """A copy with the adapters folded in and no LoRA layers, ready for ``llm.save``."""
    return remove_lora(nnx.clone(model), merge=True)
