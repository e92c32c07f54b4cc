"""Flax NNX language models: a Qwen2/Qwen3 decoder with Hugging Face checkpoint I/O, generation,
LoRA in peft's format, and the LLM systems built on them."""

from llm.batches import pack_documents, sft_batch, sft_example
from llm.checkpoint import CheckpointError, load, save, state_dict
from llm.config import ConfigError, QwenConfig
from llm.generate import Generation, encode_prompts, generate, generate_text
from llm.kv_cache import KVCache
from llm.lora import (
    LoraConfig,
    LoRALinear,
    apply_lora,
    lora_layers,
    merge_lora,
    merged_model,
    remove_lora,
    unmerge_lora,
)
from llm.losses import masked_mean_nll, masked_nll_sum, token_nll
from llm.model import Qwen
from llm.peft_io import load_adapter, read_adapter_config, save_adapter
from llm.sampling import sample
from llm.scoring import choose, completion_logprobs
from llm.sharding import make_mesh, shard_batch, shard_model, state_shardings
from llm.train import (
    TrainConfig,
    TrainOptimizer,
    init_train_state,
    learning_rate_schedule,
    loss_and_grads,
    make_optimizer,
    train_step,
)
from llm.train_checkpoint import TrainCheckpointer
from llm import epman, kl_replay, merge, tom  # noqa: E402  (systems built on the names above)

__all__ = [
    "epman",
    "kl_replay",
    "merge",
    "tom",
    "CheckpointError",
    "ConfigError",
    "Generation",
    "KVCache",
    "LoRALinear",
    "LoraConfig",
    "Qwen",
    "QwenConfig",
    "TrainCheckpointer",
    "TrainConfig",
    "TrainOptimizer",
    "apply_lora",
    "choose",
    "completion_logprobs",
    "encode_prompts",
    "generate",
    "generate_text",
    "init_train_state",
    "learning_rate_schedule",
    "load",
    "load_adapter",
    "lora_layers",
    "loss_and_grads",
    "make_mesh",
    "make_optimizer",
    "masked_mean_nll",
    "masked_nll_sum",
    "merge_lora",
    "merged_model",
    "pack_documents",
    "read_adapter_config",
    "remove_lora",
    "sample",
    "save",
    "save_adapter",
    "sft_batch",
    "sft_example",
    "shard_batch",
    "shard_model",
    "state_dict",
    "state_shardings",
    "token_nll",
    "train_step",
    "unmerge_lora",
]
