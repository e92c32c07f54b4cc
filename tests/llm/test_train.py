"""SFT / pre-training: losses, batches, the accumulated train step, orbax checkpoints."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import llm
from llm.batches import pack_documents, sft_batch, sft_example
from llm.losses import masked_mean_nll, token_nll
from llm.train import (
    TrainConfig,
    TrainOptimizer,
    init_train_state,
    learning_rate_schedule,
    make_optimizer,
    train_step,
)
from llm.train_checkpoint import TrainCheckpointer

CONFIG = llm.QwenConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
# Constant learning rate, no warmup: the first step already moves every parameter.
TC = TrainConfig(learning_rate=1e-2, warmup_steps=0, schedule="constant")
B, T = 4, 16


def _batch(seed=0):
    """A right-padded batch whose rows have very different numbers of target tokens."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, CONFIG.vocab_size, (B, T)).astype(np.int32)
    lengths = [16, 11, 16, 5]
    attention = (np.arange(T)[None] < np.array(lengths)[:, None]).astype(np.int32)
    loss = attention.copy()
    loss[2, :13] = 0      # an SFT-like row: only the last 3 tokens are targets
    loss[3, :] = 0        # and a row with no target at all
    tokens = np.where(attention == 1, tokens, 0)
    return {"tokens": tokens, "attention_mask": attention, "loss_mask": loss}


def _leaves(node):
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(node))]


# --- losses -----------------------------------------------------------------------------------

def test_masked_loss_equals_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 5)).astype(np.float32)
    tokens = np.array([[1, 4, 0, 2], [3, 3, 1, 0]], np.int32)
    mask = np.array([[1, 1, 0, 1], [0, 0, 1, 0]], np.int32)
    # Hand computation: target t is predicted by logits at t-1; targets (0,1), (0,3), (1,2).
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -(logp[0, 0, 4] + logp[0, 2, 2] + logp[1, 1, 1]) / 3
    got = masked_mean_nll(jnp.asarray(logits), jnp.asarray(tokens), jnp.asarray(mask))
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)
    assert token_nll(jnp.asarray(logits), jnp.asarray(tokens)).shape == (2, 3)
    assert float(masked_mean_nll(jnp.asarray(logits), jnp.asarray(tokens),
                                 jnp.zeros_like(mask))) == 0.0


def test_loss_matches_transformers_labels(reference):
    """Our mean over target tokens == HF's loss with labels=-100 at non-targets (same weights)."""
    import torch

    directory, torch_model = reference
    model, _ = llm.load(directory, tokenizer=False)
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, model.config.vocab_size, (3, 10)).astype(np.int64)
    attention = np.ones_like(tokens)
    attention[1, 7:] = 0          # right padding
    tokens[1, 7:] = 0
    loss_mask = attention.copy()
    loss_mask[0, :4] = 0          # a prompt that is not trained on
    loss_mask[2, ::3] = 0
    labels = np.where(loss_mask == 1, tokens, -100)
    with torch.no_grad():
        ref = torch_model(input_ids=torch.tensor(tokens), attention_mask=torch.tensor(attention),
                          labels=torch.tensor(labels)).loss.item()
    ours = nnx.jit(lambda m, t, a, l: masked_mean_nll(m(t, attention_mask=a), t, l))(
        model, jnp.asarray(tokens, jnp.int32), jnp.asarray(attention), jnp.asarray(loss_mask))
    np.testing.assert_allclose(float(ours), ref, rtol=1e-5)


# --- SFT batches ------------------------------------------------------------------------------

# Newlines are written as expressions: transformers renders with trim_blocks, which would drop
# a literal newline that follows a block tag.
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] + '\\n' }}"
          "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }}<|im_end|>"
          "{% endgeneration %}{% else %}{{ m['content'] }}<|im_end|>{% endif %}{{ '\\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

CONVERSATION = [
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "Where does Ana live?"},
    {"role": "assistant", "content": "Ana lives in Lyon."},
    {"role": "user", "content": "And her job?"},
    {"role": "assistant", "content": "She is a baker."},
    {"role": "user", "content": "Thanks"},
]


@pytest.fixture(scope="module")
def chat_tokenizer():
    """A byte-level BPE with ChatML specials and a ChatML template (generation-tagged)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=[
        "<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    text = [m["content"] for m in CONVERSATION] * 20 + ["user assistant system"] * 20
    tok.train_from_iterator(text, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>")
    fast.chat_template = CHATML
    return fast


def test_sft_mask_is_exactly_the_responses(chat_tokenizer):
    tok = chat_tokenizer
    tokens, mask = sft_example(tok, CONVERSATION, max_len=256)

    # Independent 1: the ChatML layout written out by hand, piece by piece.
    def enc(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    end = tok.convert_tokens_to_ids("<|im_end|>")
    prompt1 = ("<|im_start|>system\nYou answer briefly.<|im_end|>\n<|im_start|>user\n"
               "Where does Ana live?<|im_end|>\n<|im_start|>assistant\n")
    prompt2 = "\n<|im_start|>user\nAnd her job?<|im_end|>\n<|im_start|>assistant\n"
    tail = "\n<|im_start|>user\nThanks<|im_end|>\n"
    pieces = [(enc(prompt1), 0), (enc("Ana lives in Lyon.") + [end], 1), (enc(prompt2), 0),
              (enc("She is a baker.") + [end], 1), (enc(tail), 0)]
    np.testing.assert_array_equal(tokens, np.concatenate([p for p, _ in pieces]))
    np.testing.assert_array_equal(mask, np.concatenate([[m] * len(p) for p, m in pieces]))
    assert tok.decode(tokens) == tok.apply_chat_template(CONVERSATION, tokenize=False)

    # Independent 2: transformers' own {% generation %} assistant mask.
    hf = tok.apply_chat_template(CONVERSATION, tokenize=True, return_dict=True,
                                 return_assistant_tokens_mask=True)
    np.testing.assert_array_equal(tokens, hf["input_ids"])
    np.testing.assert_array_equal(mask, hf["assistant_masks"])


def test_sft_batch_right_pads(chat_tokenizer):
    short = CONVERSATION[1:3]
    batch = sft_batch(chat_tokenizer, [CONVERSATION, short], max_len=96)
    pad = chat_tokenizer.pad_token_id
    for i, conv in enumerate([CONVERSATION, short]):
        tokens, mask = sft_example(chat_tokenizer, conv, 96)
        n = len(tokens)
        np.testing.assert_array_equal(batch["tokens"][i, :n], tokens)
        np.testing.assert_array_equal(batch["loss_mask"][i, :n], mask)
        assert (batch["tokens"][i, n:] == pad).all() and not batch["loss_mask"][i, n:].any()
        assert batch["attention_mask"][i].sum() == n and batch["attention_mask"][i, :n].all()
    assert {k: v.shape for k, v in batch.items()} == {k: (2, 96) for k in batch}


def test_sft_bad_input(chat_tokenizer):
    tok = chat_tokenizer
    n = len(sft_example(tok, CONVERSATION, 256)[0])
    with pytest.raises(ValueError, match="max_len"):
        sft_example(tok, CONVERSATION, n - 1)
    tokens, mask = sft_example(tok, CONVERSATION, n - 1, truncate=True)
    full_tokens, full_mask = sft_example(tok, CONVERSATION, n)
    np.testing.assert_array_equal(tokens, full_tokens[: n - 1])
    np.testing.assert_array_equal(mask, full_mask[: n - 1])
    with pytest.raises(ValueError, match="no assistant"):
        sft_example(tok, CONVERSATION[:2], 256)
    with pytest.raises(ValueError, match="empty"):
        sft_example(tok, [], 256)
    with pytest.raises(ValueError, match="empty"):
        sft_batch(tok, [], 256)
    with pytest.raises(ValueError, match="role"):
        sft_example(tok, [{"text": "hi"}], 256)
    # A template that renders earlier turns differently once more turns follow.
    tok2 = tok.__class__(tokenizer_object=tok.backend_tokenizer, pad_token="<|endoftext|>")
    tok2.chat_template = "{{ messages | length }}" + CHATML
    with pytest.raises(ValueError, match="not a prefix"):
        sft_example(tok2, CONVERSATION, 256)


# --- pre-training batches ---------------------------------------------------------------------

def test_pack_documents_layout():
    batch = pack_documents([[5, 6, 7], [8, 9], [10]], seq_len=4, eos_id=1, pad_id=0)
    np.testing.assert_array_equal(batch["tokens"], [[5, 6, 7, 1], [8, 9, 1, 10], [1, 0, 0, 0]])
    np.testing.assert_array_equal(batch["attention_mask"], [[1] * 4, [1] * 4, [1, 0, 0, 0]])
    np.testing.assert_array_equal(batch["loss_mask"], batch["attention_mask"])
    dropped = pack_documents([[5, 6, 7], [8, 9], [10]], seq_len=4, eos_id=1, drop_remainder=True)
    np.testing.assert_array_equal(dropped["tokens"], batch["tokens"][:2])
    with pytest.raises(ValueError, match="empty"):
        pack_documents([], 4, 1)
    with pytest.raises(ValueError, match="seq_len"):
        pack_documents([[1, 2]], 1, 0)
    with pytest.raises(ValueError, match="drop_remainder"):
        pack_documents([[1, 2]], 8, 0, drop_remainder=True)


# --- config -----------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("learning_rate", 0.0), ("learning_rate", float("nan")), ("warmup_steps", -1),
    ("warmup_steps", 2.5), ("total_steps", 0), ("schedule", "step"), ("min_lr_ratio", 1.5),
    ("weight_decay", -0.1), ("b1", 1.0), ("b2", -0.5), ("eps", 0.0), ("grad_clip", 0.0),
    ("grad_accum_steps", 0), ("grad_accum_steps", True)])
def test_bad_train_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field}="):
        TrainConfig(**{field: value})


def test_warmup_longer_than_run_is_rejected():
    with pytest.raises(ValueError, match="warmup_steps"):
        TrainConfig(warmup_steps=20, total_steps=10)


def test_schedule_shape():
    sched = learning_rate_schedule(TrainConfig(learning_rate=1.0, warmup_steps=10,
                                               total_steps=110, min_lr_ratio=0.1))
    np.testing.assert_allclose([float(sched(s)) for s in (0, 5, 10, 60, 110)],
                               [0.0, 0.5, 1.0, 0.1 + 0.9 * 0.5, 0.1], rtol=1e-6)


# --- the train step ---------------------------------------------------------------------------

def test_grad_accumulation_equals_one_big_batch():
    """4 micro-batches of 15, 10, 3 and 0 targets == the whole batch, to float rounding.

    Plain SGD (lr 1) makes the update equal to the gradient, so the comparison is as sharp as a
    gradient comparison; Adam's first step, about lr * sign(g), would hide a wrong weighting.
    """
    batch = _batch()
    k = 4
    assert [int(batch["loss_mask"][j::k, 1:].sum()) for j in range(k)] == [15, 10, 3, 0]
    results = []
    for steps in (1, k):
        model = llm.Qwen(CONFIG, rngs=nnx.Rngs(0))
        optimizer = TrainOptimizer(model, optax.sgd(1.0), grad_accum_steps=steps)
        metrics = train_step(model, optimizer, batch)
        results.append((metrics, _leaves(model)))
    (m1, p1), (mk, pk) = results
    for key in ("loss", "tokens", "grad_norm"):
        np.testing.assert_allclose(float(mk[key]), float(m1[key]), rtol=1e-6, err_msg=key)
    assert float(m1["tokens"]) == 28
    start = _leaves(llm.Qwen(CONFIG, rngs=nnx.Rngs(0)))
    assert max(np.abs(a - a0).max() for a, a0 in zip(p1, start)) > 1e-2  # the step moved them
    for a, b, a0 in zip(p1, pk, start):
        np.testing.assert_allclose(a - a0, b - a0, rtol=1e-5, atol=1e-7)


def test_pretraining_memorises_a_sequence():
    rng = np.random.default_rng(3)
    doc = rng.integers(2, CONFIG.vocab_size, 30).tolist()
    batch = pack_documents([doc] * 3, seq_len=T, eos_id=1)
    batch = {k: v[:B] for k, v in batch.items()}
    model, optimizer = init_train_state(CONFIG, TC)
    losses = [float(train_step(model, optimizer, batch)["loss"]) for _ in range(20)]
    assert losses[0] > 0.9 * np.log(CONFIG.vocab_size)  # starts near uniform
    assert losses[-1] < 0.25 * losses[0], losses


class DropoutLM(nnx.Module):
    """The tiny Qwen with dropout on its logits: a model that owns an RNG stream."""

    def __init__(self):
        self.lm = llm.Qwen(CONFIG, rngs=nnx.Rngs(0))
        self.dropout = nnx.Dropout(0.5, rngs=nnx.Rngs(dropout=1))

    def __call__(self, tokens, attention_mask=None):
        return self.dropout(self.lm(tokens, attention_mask=attention_mask))


def test_wrt_and_rng_streams():
    """Only variables matching ``wrt`` move; the dropout stream advances once per micro-batch."""
    model = DropoutLM()
    before = dict(nnx.to_flat_state(jax.tree.map(np.asarray, nnx.state(model, nnx.Param))))
    wrt = nnx.All(nnx.Param, nnx.PathContains("mlp"))
    optimizer = make_optimizer(model, dataclasses.replace(TC, grad_accum_steps=2), wrt=wrt)
    losses = [float(train_step(model, optimizer, _batch())["loss"]) for _ in range(2)]
    assert int(model.dropout.rngs.count[...]) == 4
    for path, var in nnx.to_flat_state(nnx.state(model, nnx.Param)):
        changed = not np.array_equal(np.asarray(var.get_value()), before[path].get_value())
        assert changed == ("mlp" in path), path
    assert losses[0] != losses[1]


def test_step_rejects_bad_batches():
    model, optimizer = init_train_state(CONFIG, TrainConfig(grad_accum_steps=3))
    batch = _batch()
    with pytest.raises(ValueError, match="multiple of grad_accum_steps=3"):
        train_step(model, optimizer, batch)
    with pytest.raises(ValueError, match="loss_mask"):
        train_step(model, optimizer, {k: v for k, v in batch.items() if k != "loss_mask"})


# --- checkpoints ------------------------------------------------------------------------------

def test_orbax_round_trip_is_exact(tmp_path):
    batch = _batch()
    model, optimizer = init_train_state(CONFIG, TC)
    train_step(model, optimizer, batch)
    ckpt = TrainCheckpointer(tmp_path / "ckpt")
    assert ckpt.save(model, optimizer) == 1
    # A differently seeded build: every value must come from the checkpoint.
    restored_model, restored_opt = ckpt.restore(lambda: init_train_state(CONFIG, TC, seed=7))
    ckpt.close()
    for a, b in zip(_leaves(model) + _leaves(optimizer),
                    _leaves(restored_model) + _leaves(restored_opt)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert int(restored_opt.step[...]) == 1
    next_loss = train_step(model, optimizer, batch)["loss"]
    restored_loss = train_step(restored_model, restored_opt, batch)["loss"]
    assert float(next_loss) == float(restored_loss)
    for a, b in zip(_leaves(model), _leaves(restored_model)):
        assert np.array_equal(a, b)
    with pytest.raises(FileNotFoundError):
        TrainCheckpointer(tmp_path / "empty").restore(lambda: init_train_state(CONFIG, TC))


def test_checkpoint_keeps_rng_streams(tmp_path):
    """Typed PRNG keys (e.g. a LoRA dropout stream) come back as the same keys."""
    class Dropped(nnx.Module):
        def __init__(self, seed):
            self.linear = nnx.Linear(3, 2, rngs=nnx.Rngs(seed))
            self.dropout = nnx.Dropout(0.5, rngs=nnx.Rngs(dropout=seed + 1))

    def build(seed=0):
        module = Dropped(seed)
        return module, nnx.Optimizer(module, optax.adam(1e-3), wrt=nnx.Param)

    module, optimizer = build()
    module.dropout.rngs()  # advance the stream: its count and key must round-trip
    ckpt = TrainCheckpointer(tmp_path)
    ckpt.save(module, optimizer, step=5)
    restored, _ = ckpt.restore(lambda: build(seed=9), step=5)
    ckpt.close()
    before, after = nnx.to_flat_state(nnx.state(module)), nnx.to_flat_state(nnx.state(restored))
    for (path, a), (_, b) in zip(before, after):
        a, b = a.get_value(), b.get_value()
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            assert jax.random.key_impl(a) == jax.random.key_impl(b)
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        assert np.array_equal(a, b), path
