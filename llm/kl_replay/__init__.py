"""LoRA fine-tuning with a KL penalty towards the initial model and approximate replay (spec 01;
Riemer et al. 2025, arXiv 2512.22337): the loss and its step, its data (SFT jsonl, replay
corpora, an exact-ratio mixer), forgetting evaluation and the tiny world's new task."""

from llm.kl_replay.adapter_off import adapters_disabled
from llm.kl_replay.config import KL_COVERAGES, KL_DIRECTIONS, KLReplayConfig
from llm.kl_replay.evaluation import answer_eval, end_tokens, heldout_nll, score_answers
from llm.kl_replay.kl import token_kl
from llm.kl_replay.loss import kl_replay_loss_and_grads, kl_replay_step
from llm.kl_replay.mixer import ReplayMixer
from llm.kl_replay.replay_data import load_texts
from llm.kl_replay.sft_data import (
    DataError,
    chat_record,
    load_chat_jsonl,
    save_chat_jsonl,
)
from llm.kl_replay.world_tasks import REPLAY_SENTENCES, replay_documents, skill_examples

__all__ = [
    "KL_COVERAGES",
    "KL_DIRECTIONS",
    "REPLAY_SENTENCES",
    "DataError",
    "KLReplayConfig",
    "ReplayMixer",
    "adapters_disabled",
    "answer_eval",
    "chat_record",
    "end_tokens",
    "heldout_nll",
    "kl_replay_loss_and_grads",
    "kl_replay_step",
    "load_chat_jsonl",
    "load_texts",
    "replay_documents",
    "save_chat_jsonl",
    "score_answers",
    "skill_examples",
    "token_kl",
]
