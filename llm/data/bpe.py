"""A small byte-level BPE tokenizer in Qwen's style, trained with `tokenizers`, saved for HF.

Same construction as Qwen2's tokenizer.json: the Qwen/GPT-4 pre-tokenisation regex (digits
split one by one, contractions and punctuation isolated), byte-level alphabet (all 256 bytes,
so there is no unknown token), BPE merges learnt on the given texts, and ChatML special tokens
``<|endoftext|>`` (eos and pad), ``<|im_start|>``, ``<|im_end|>`` with a ChatML chat template
(no default system prompt), and Qwen's NFC normaliser, so that ``transformers`` rebuilding it as a
``Qwen2Tokenizer`` (which it does beside a qwen2/qwen3 config.json) encodes exactly the same;
``decode(encode(x)) == x`` holds for NFC-normalised text. Choices where Qwen is silent: the
specials take ids 0, 1, 2; the assistant turn
is wrapped in ``{% generation %}`` so ``apply_chat_template(..., return_assistant_tokens_mask=
True)`` marks the response tokens (answer and ``<|im_end|>``) for SFT loss masking.
The learnt vocabulary may be smaller than ``vocab_size`` on a small corpus: use ``len(tok)``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tokenizers import (
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import PreTrainedTokenizerFast

EOS_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS: tuple[str, ...] = (EOS_TOKEN, IM_START, IM_END)

# Qwen2's pre-tokenisation pattern (tokenizer.json of Qwen/Qwen2.5-*).
QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{%- else %}{{- message['content'] + '<|im_end|>' }}{%- endif %}"
    "{{- '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int,
    path: str | os.PathLike | None = None,
    model_max_length: int = 2048,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer of at most ``vocab_size`` tokens on ``texts``.

    With ``path``, also write it as a Hugging Face tokenizer directory (tokenizer.json,
    tokenizer_config.json, chat_template.jinja) through a temporary directory and a rename,
    replacing any directory already at ``path``.
    """
    if not _is_int(vocab_size) or vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(
            f"vocab_size={vocab_size!r} is invalid: expected an int >= {MIN_VOCAB_SIZE} "
            f"(256 byte tokens + {len(SPECIAL_TOKENS)} special tokens)")
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts contains a non-string item: expected an iterable of strings")
    if not any(texts):
        raise ValueError("texts is empty: expected at least one non-empty string")
    if not _is_int(model_max_length) or model_max_length < 1:
        raise ValueError(f"model_max_length={model_max_length!r} is invalid: expected an int >= 1")

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        extra_special_tokens=[IM_START, IM_END],
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
        model_max_length=model_max_length,
    )
    if path is not None:
        save_atomically(wrapped, path)
    return wrapped


def save_atomically(tokenizer: PreTrainedTokenizerFast, path: str | os.PathLike) -> None:
    """``tokenizer.save_pretrained`` into a sibling temporary directory, then rename to ``path``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"path={str(path)!r} exists and is not a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tokenizer.save_pretrained(staging)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(staging, path)
            shutil.rmtree(old)
        else:
            os.replace(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
