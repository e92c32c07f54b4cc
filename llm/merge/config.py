"""A merge described in mergekit's YAML form, checked before any weight is read.

    merge_method: ties            # linear | task_arithmetic | ties | dare_linear | dare_ties
    base_model: path/to/base      #   | slerp | mergealign
    models:
      - model: path/to/expert
        parameters: {weight: 0.6, density: 0.5}
      - model: path/to/instruct
        parameters: {weight: 0.4, density: 0.5}
    parameters: {normalize: true, lambda: 1.0}   # shared; a model's own parameters win
    dtype: bfloat16               # output dtype (default: each tensor's dtype in the base)
    random_seed: 0                # extension: DARE's drop masks (mergekit takes it on its CLI)

Parameters, with mergekit's defaults: ``weight`` (required except for slerp), ``density`` (1),
``normalize`` (linear and ties: true; others: false), ``lambda`` (1), ``rescale`` (DARE: true),
``t`` (slerp, required), ``consensus`` ("sum"; extension). A parameter may also be a list of
``{filter: substring, value: x}`` entries; the first whose filter occurs in the tensor name applies
(an entry without ``filter`` matches every tensor), as in mergekit. Gradients (lists of numbers)
are refused.

Choices where mergekit differs or is silent: ``rescale: true`` is DARE's 1/density (mergekit
matches the L1 norm; ``rescale: l1`` selects that). For slerp, ``base_model`` is the t = 0 end and
the one other model the t = 1 end. ``mergealign`` needs a ``base_model`` and exactly two other
models whose weights are lambda and 1 - lambda (they must sum to 1); which one is the domain
expert does not change the result.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from llm.merge.parents import MergeError

METHODS = ("linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "slerp",
           "mergealign")
DTYPES = ("float32", "float16", "bfloat16", "float64")
NORMALIZE_DEFAULT = {"linear": True, "ties": True}
SHARED = ("normalize", "lambda", "rescale", "consensus", "t", "int8_mask")
PER_MODEL = ("weight", "density")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    model: str
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class MergeConfig:
    merge_method: str
    models: tuple[ModelSpec, ...]
    base_model: str | None = None
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    dtype: str | None = None
    random_seed: int = 0

    def __post_init__(self):
        if self.merge_method not in METHODS:
            raise MergeError(f"merge_method={self.merge_method!r}: expected one of {METHODS}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise MergeError(f"dtype={self.dtype!r}: expected one of {DTYPES}")
        if not self.models:
            raise MergeError("models: expected at least one model")
        for i, spec in enumerate(self.models):
            for key in spec.parameters:
                if key not in PER_MODEL + SHARED:
                    raise MergeError(f"models[{i}].parameters.{key}: unknown parameter; "
                                     f"expected one of {PER_MODEL + SHARED}")
        for key in self.parameters:
            if key not in PER_MODEL + SHARED:
                raise MergeError(f"parameters.{key}: unknown parameter; expected one of "
                                 f"{PER_MODEL + SHARED}")
        method, others = self.merge_method, self.others()
        if method != "linear" and self.base_model is None:
            raise MergeError(f"base_model: merge_method {method!r} needs a base_model")
        if method == "slerp" and len(others) != 1:
            raise MergeError(f"models: slerp interpolates base_model and exactly one other "
                             f"model, got {len(others)} others")
        if method == "mergealign" and len(others) != 2:
            raise MergeError(f"models: mergealign needs a domain expert and an aligned model "
                             f"besides base_model, got {len(others)}")
        if method != "slerp" and not others:
            raise MergeError(f"models: merge_method {method!r} needs at least one model "
                             "other than base_model")
        names = ("t",) if method == "slerp" else ("weight",)
        for spec in others:
            for name in names:
                self.parameter(name, spec, "")  # raises when missing or malformed
        if method == "mergealign":
            total = sum(self.parameter("weight", s, "") for s in others)
            if abs(total - 1.0) > 1e-6:
                raise MergeError(f"models: mergealign weights are lambda and 1 - lambda and must "
                                 f"sum to 1, got {total}")
        if not isinstance(self.random_seed, int) or self.random_seed < 0:
            raise MergeError(f"random_seed={self.random_seed!r}: expected an int >= 0")

    def others(self) -> tuple[ModelSpec, ...]:
        """The models merged into the base (for linear: all models)."""
        if self.merge_method == "linear":
            return self.models
        return tuple(m for m in self.models if m.model != self.base_model)

    def parameter(self, name: str, spec: ModelSpec | None, tensor: str, default=None):
        """``name`` for this model and tensor: the model's value, else the shared one, else
        ``default``; raises MergeError when none and no default."""
        for where, table in (("models[].parameters", spec.parameters if spec else {}),
                             ("parameters", self.parameters)):
            if name in table:
                return _resolve(table[name], tensor, f"{where}.{name}")
        if name == "normalize" and default is None:
            return NORMALIZE_DEFAULT.get(self.merge_method, False)
        if default is None:
            who = f" for model {spec.model!r}" if spec else ""
            raise MergeError(f"parameters.{name}: required by {self.merge_method}{who}")
        return default

    @classmethod
    def from_dict(cls, data: dict) -> MergeConfig:
        if not isinstance(data, dict):
            raise MergeError(f"merge config: expected a mapping, got {type(data).__name__}")
        known = {"merge_method", "base_model", "models", "parameters", "dtype", "random_seed",
                 "tokenizer_source"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise MergeError(f"merge config: unknown key {unknown[0]!r} (slices and other "
                             f"mergekit keys are not supported); expected {sorted(known)}")
        if data.get("tokenizer_source") not in (None, "base"):
            raise MergeError("tokenizer_source: only 'base' (the default) is supported")
        models = []
        for i, m in enumerate(data.get("models") or []):
            if isinstance(m, str):
                m = {"model": m}
            if not isinstance(m, dict) or "model" not in m:
                raise MergeError(f"models[{i}]: expected a mapping with a 'model' path")
            models.append(ModelSpec(str(m["model"]), dict(m.get("parameters") or {})))
        if "merge_method" not in data:
            raise MergeError(f"merge_method: missing; expected one of {METHODS}")
        base = data.get("base_model")
        return cls(merge_method=str(data["merge_method"]), models=tuple(models),
                   base_model=None if base is None else str(base),
                   parameters=dict(data.get("parameters") or {}), dtype=data.get("dtype"),
                   random_seed=data.get("random_seed", 0))

    @classmethod
    def from_yaml(cls, path: str | Path) -> MergeConfig:
        import yaml

        return cls.from_dict(yaml.safe_load(Path(path).read_text()))

    def to_dict(self) -> dict:
        out = {"merge_method": self.merge_method}
        if self.base_model is not None:
            out["base_model"] = self.base_model
        out["models"] = [{"model": m.model, **({"parameters": m.parameters} if m.parameters
                                                else {})} for m in self.models]
        if self.parameters:
            out["parameters"] = self.parameters
        if self.dtype is not None:
            out["dtype"] = self.dtype
        out["random_seed"] = self.random_seed
        return out


def _resolve(value, tensor: str, field: str):
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            for entry in value:
                if "value" not in entry:
                    raise MergeError(f"{field}: each filter entry needs a 'value'")
                if entry.get("filter") is None or entry["filter"] in tensor:
                    return entry["value"]
            return None
        raise MergeError(f"{field}: gradients (lists of numbers) are not supported; give a "
                         "number or a list of {filter, value} entries")
    return value
