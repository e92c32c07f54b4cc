"""The Qwen2 / Qwen3 architecture description, read from and written to Hugging Face config.json.

Field names are Hugging Face's, so a config.json maps onto this dataclass one to one. Qwen2 has
biases on the q/k/v projections; Qwen3 has none (``attention_bias`` false) but normalises q and k
per head (``qk_norm``) before RoPE and may set ``head_dim`` apart from hidden/heads.
"""

from __future__ import annotations

import dataclasses
from typing import Any

ARCHITECTURES = {"Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3"}
MODEL_TYPES = ("qwen2", "qwen3")


class ConfigError(ValueError):
    """A model config that this package cannot build; the message names the field."""


@dataclasses.dataclass(frozen=True)
class QwenConfig:
    """A Qwen-architecture decoder (Qwen2 or Qwen3 family)."""

    vocab_size: int = 151936
    hidden_size: int = 896
    intermediate_size: int = 4864
    num_hidden_layers: int = 24
    num_attention_heads: int = 14
    num_key_value_heads: int = 2
    head_dim: int | None = None
    """Per-head width; None means hidden_size // num_attention_heads."""
    rope_theta: float = 1_000_000.0
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = True
    attention_bias: bool = True
    """Qwen2: biases on q/k/v (not o). Qwen3: biases on q/k/v/o when true (false in released models)."""
    max_position_embeddings: int = 32768
    model_type: str = "qwen2"
    bos_token_id: int | None = None
    eos_token_id: int | tuple[int, ...] | None = None
    pad_token_id: int | None = None
    dtype: str = "float32"
    """The stored weights' dtype, as Hugging Face writes it ("float32", "bfloat16", ...)."""

    def __post_init__(self):
        if isinstance(self.eos_token_id, list):  # hashable: the config is static under jit
            object.__setattr__(self, "eos_token_id", tuple(self.eos_token_id))
        if self.head_dim is None:
            object.__setattr__(self, "head_dim", self.hidden_size // max(self.num_attention_heads, 1))
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                     "num_attention_heads", "num_key_value_heads", "head_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"QwenConfig.{name}={value!r} is invalid: expected an integer >= 1")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ConfigError(
                f"QwenConfig.num_attention_heads={self.num_attention_heads} must be a multiple of "
                f"num_key_value_heads={self.num_key_value_heads} (grouped-query attention)")
        if self.head_dim % 2:
            raise ConfigError(f"QwenConfig.head_dim={self.head_dim} must be even for rotate-half RoPE")
        if self.model_type not in MODEL_TYPES:
            raise ConfigError(f"QwenConfig.model_type={self.model_type!r}: expected one of {MODEL_TYPES}")
        if self.model_type == "qwen2" and not self.attention_bias:
            raise ConfigError("QwenConfig.attention_bias=False: Qwen2 always has q/k/v biases")
        if not self.rope_theta > 0 or not self.rms_norm_eps > 0:
            raise ConfigError("QwenConfig.rope_theta and rms_norm_eps must be > 0")

    @property
    def qk_norm(self) -> bool:
        """Qwen3: RMSNorm over head_dim on queries and keys before RoPE."""
        return self.model_type == "qwen3"

    @property
    def q_size(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        return self.num_key_value_heads * self.head_dim

    @property
    def o_bias(self) -> bool:
        """Qwen2 never has an o_proj bias; Qwen3 has one exactly when attention_bias is set."""
        return self.model_type == "qwen3" and self.attention_bias

    def replace(self, **changes) -> QwenConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def qwen3(cls, **fields) -> QwenConfig:
        """A Qwen3-family config (q/k norm, no biases) with the given fields."""
        return cls(**{"model_type": "qwen3", "attention_bias": False, **fields})

    @classmethod
    def from_hf(cls, hf: dict[str, Any], source: str = "config.json") -> QwenConfig:
        """Build from a Hugging Face config dict; errors name ``source`` and the field."""
        model_type = hf.get("model_type")
        archs = hf.get("architectures") or []
        if model_type not in MODEL_TYPES:
            known = ", ".join(ARCHITECTURES)
            raise ConfigError(f"{source}: model_type={model_type!r} (architectures={archs}) is not "
                              f"implemented; this package implements {known}")
        for arch in archs:
            if arch not in ARCHITECTURES:
                raise ConfigError(f"{source}: architecture {arch!r} is not implemented; expected "
                                  f"one of {list(ARCHITECTURES)}")
        act = hf.get("hidden_act", "silu")
        if act != "silu":
            raise ConfigError(f"{source}: hidden_act={act!r} is not implemented; expected 'silu'")
        if hf.get("use_sliding_window"):
            raise ConfigError(f"{source}: use_sliding_window=true is not implemented")
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        rope_type = rope.get("rope_type", rope.get("type", "default"))
        if rope_type != "default":
            raise ConfigError(f"{source}: rope_type={rope_type!r} is not implemented; expected "
                              "'default'")
        theta = rope.get("rope_theta", hf.get("rope_theta", 10000.0))
        missing = [k for k in ("vocab_size", "hidden_size", "intermediate_size",
                               "num_hidden_layers", "num_attention_heads") if k not in hf]
        if missing:
            raise ConfigError(f"{source}: missing field(s) {missing}")
        qwen3 = model_type == "qwen3"
        return cls(
            vocab_size=hf["vocab_size"],
            hidden_size=hf["hidden_size"],
            intermediate_size=hf["intermediate_size"],
            num_hidden_layers=hf["num_hidden_layers"],
            num_attention_heads=hf["num_attention_heads"],
            num_key_value_heads=hf.get("num_key_value_heads") or hf["num_attention_heads"],
            head_dim=hf.get("head_dim"),
            rope_theta=float(theta),
            rms_norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
            tie_word_embeddings=bool(hf.get("tie_word_embeddings", not qwen3)),
            attention_bias=bool(hf.get("attention_bias", False)) if qwen3 else True,
            max_position_embeddings=int(hf.get("max_position_embeddings", 32768)),
            model_type=model_type,
            bos_token_id=hf.get("bos_token_id"),
            eos_token_id=hf.get("eos_token_id"),
            pad_token_id=hf.get("pad_token_id"),
            dtype=str(hf.get("dtype") or hf.get("torch_dtype") or "float32"),
        )

    def to_hf(self) -> dict[str, Any]:
        """The config.json dict that ``transformers`` reads back as the same architecture."""
        arch = {v: k for k, v in ARCHITECTURES.items()}[self.model_type]
        hf = {
            "architectures": [arch],
            "model_type": self.model_type,
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_parameters": {"rope_theta": self.rope_theta, "rope_type": "default"},
            "tie_word_embeddings": self.tie_word_embeddings,
            "use_sliding_window": False,
            "attention_dropout": 0.0,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": (list(self.eos_token_id) if isinstance(self.eos_token_id, tuple)
                             else self.eos_token_id),
            "pad_token_id": self.pad_token_id,
            "dtype": self.dtype,
        }
        if self.model_type == "qwen3":
            hf["attention_bias"] = self.attention_bias
        return hf
