"""Flax NNX language models: a Qwen2/Qwen3 decoder with Hugging Face checkpoint I/O, and the
LLM systems built on it."""

from llm.checkpoint import CheckpointError, load, save, state_dict
from llm.config import ConfigError, QwenConfig
from llm.kv_cache import KVCache
from llm.model import Qwen

__all__ = ["CheckpointError", "ConfigError", "KVCache", "Qwen", "QwenConfig", "load", "save",
           "state_dict"]
