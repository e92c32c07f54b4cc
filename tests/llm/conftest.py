"""Tiny random Qwen2 / Qwen3 checkpoints written by ``transformers`` (the parity reference).

Weights are drawn wider than Hugging Face's default (std 0.08, not 0.02) so that greedy decoding
does not collapse into repeating one token, and biases and norm weights are perturbed away from their zero/one initialisation so that a loader
that dropped or transposed them would be caught.
"""

import numpy as np
import pytest
import torch  # the test extra installs it
import transformers

VOCAB = 97


def make_reference(kind: str, directory, *, seed: int = 0, **overrides):
    """Create, perturb and save a tiny Hugging Face model; returns the torch model (eval mode)."""
    torch.manual_seed(seed)
    common = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  eos_token_id=VOCAB - 1, pad_token_id=0, initializer_range=0.08)
    common.update(overrides)
    if kind == "qwen2":
        cfg = transformers.Qwen2Config(tie_word_embeddings=True,
                                       rope_parameters={"rope_theta": 10000.0,
                                                        "rope_type": "default"}, **common)
        model = transformers.Qwen2ForCausalLM(cfg)
    elif kind == "qwen3":
        cfg = transformers.Qwen3Config(tie_word_embeddings=False, head_dim=24, **common)
        model = transformers.Qwen3ForCausalLM(cfg)
    else:
        raise ValueError(kind)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    model.eval()
    model.save_pretrained(str(directory))
    return model


@pytest.fixture(scope="session")
def qwen2_dir(tmp_path_factory):
    """A tied-embedding Qwen2 (q/k/v biases, GQA 4/2); returns (directory, torch model)."""
    d = tmp_path_factory.mktemp("qwen2")
    return d, make_reference("qwen2", d)


@pytest.fixture(scope="session")
def qwen3_dir(tmp_path_factory):
    """An untied Qwen3 (q/k norm, head_dim 24 != 64/4, GQA 4/2); returns (directory, torch model)."""
    d = tmp_path_factory.mktemp("qwen3")
    return d, make_reference("qwen3", d)


@pytest.fixture(params=["qwen2", "qwen3"])
def reference(request):
    """Both reference checkpoints, one per test instance."""
    return request.getfixturevalue(f"{request.param}_dir")


def left_padded_batch(rng: np.random.Generator, lengths, vocab: int = VOCAB):
    """Token ids [B, max(lengths)] and mask, each row left-padded with id 0."""
    t = max(lengths)
    ids = rng.integers(1, vocab, (len(lengths), t))
    mask = np.zeros((len(lengths), t), np.int64)
    for i, n in enumerate(lengths):
        mask[i, t - n:] = 1
    return np.where(mask == 1, ids, 0), mask
