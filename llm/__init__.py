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
from llm.model import Qwen
from llm.peft_io import load_adapter, read_adapter_config, save_adapter
from llm.losses import masked_mean_nll, masked_nll_sum, token_nll
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

__all__ = [
    "CheckpointError", "ConfigError", "Generation", "KVCache", "LoRALinear", "LoraConfig", "Qwen",
    "QwenConfig", "apply_lora", "encode_prompts", "generate", "generate_text", "load",
    "load_adapter", "lora_layers", "merge_lora", "merged_model", "read_adapter_config",
    "remove_lora", "sample", "save", "save_adapter", "state_dict", "unmerge_lora",
    "TrainCheckpointer", "TrainConfig", "TrainOptimizer", "choose", "completion_logprobs",
    "init_train_state", "learning_rate_schedule", "loss_and_grads", "make_mesh",
    "make_optimizer", "masked_mean_nll", "masked_nll_sum", "pack_documents", "shard_batch",
    "shard_model", "sft_batch", "sft_example", "state_shardings", "token_nll", "train_step",
]
