"""Batched generation: parity with transformers' greedy decoding, a full-forward differential of the
decode loop, sampling distributions against closed forms, stop tokens, the chat path, bad input."""

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import VOCAB, left_padded_batch, torch
from flax import nnx

import llm
from llm.generate import Generation, encode_prompts, generate, generate_text
from llm.sampling import sample, top_p_mask

TOL = 1e-4
PROMPT_LENGTHS = [5, 16, 3]  # one batch shape for all generation tests: they share compilations
N = 32
PAD = -1  # never a token id, so padding is unambiguous in the checks


@functools.lru_cache
def load(directory):
    return llm.load(directory)[0]


def prompt_batch():
    return left_padded_batch(np.random.default_rng(0), PROMPT_LENGTHS)


# ---------------------------------------------------------------------------------------------
# Generation against transformers and against the full forward


def test_greedy_matches_transformers(reference):
    directory, hf_model = reference
    ids, mask = prompt_batch()
    ours = generate(load(directory), ids, mask, max_new_tokens=N)
    assert isinstance(ours, Generation)
    with torch.no_grad():  # eos disabled: all N steps are compared
        ref = hf_model.generate(torch.tensor(ids), attention_mask=torch.tensor(mask),
                                do_sample=False, max_new_tokens=N, eos_token_id=None,
                                pad_token_id=0)
    assert ref.shape == (len(ids), ids.shape[1] + N)
    np.testing.assert_array_equal(np.asarray(ours.tokens), ref[:, ids.shape[1]:].numpy())
    np.testing.assert_array_equal(ours.lengths, [N] * len(ids))
    assert not np.asarray(ours.finished).any() and int(ours.steps) == N


def test_decode_loop_logprobs_match_full_forward(reference):
    """Every sampled token's log-probability from the cached loop equals the one the uncached
    forward gives on prompt + generated tokens (left padding, positions and cache together)."""
    directory, _ = reference
    model = load(directory)
    ids, mask = prompt_batch()
    out = generate(model, ids, mask, max_new_tokens=N, key=jax.random.key(3), temperature=1.0)
    new = np.asarray(out.tokens)
    assert len(np.unique(new)) > 10  # sampling, not a repeated token
    full_ids = np.concatenate([ids, new], axis=1)
    full_mask = np.concatenate([mask, np.ones_like(new)], axis=1)
    logits = forward(model, jnp.asarray(full_ids), jnp.asarray(full_mask))
    t = ids.shape[1]
    logp = jax.nn.log_softmax(logits[:, t - 1:-1])  # position t-1+i predicts new token i
    expected = np.take_along_axis(np.asarray(logp), new[..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(np.asarray(out.logprobs), expected, atol=TOL, rtol=0)


@nnx.jit
def forward(model, tokens, mask):
    return model(tokens, attention_mask=mask)


def first_stop(row, stops):
    """Tokens a row generates until (including) its first stop token, as the loop should count."""
    hits = np.flatnonzero(np.isin(row, list(stops)))
    return int(hits[0]) + 1 if len(hits) else len(row)


def test_stop_tokens_pad_and_end_the_loop_early(qwen3_dir):
    model = load(qwen3_dir[0])
    ids, mask = prompt_batch()
    free = np.asarray(generate(model, ids, mask, max_new_tokens=N).tokens)
    # (a) one stop token: rows that emit it stop, the others run to N
    # (b) each row's 4th token is a stop token: every row stops by step 4, so the loop ends early
    for stops in [{int(free[0, 2])}, set(free[:, 3].tolist())]:
        out = generate(model, ids, mask, max_new_tokens=N, stop_tokens=tuple(stops), pad_id=PAD)
        tokens, lengths = np.asarray(out.tokens), np.asarray(out.lengths)
        expected = [first_stop(row, stops) for row in free]
        np.testing.assert_array_equal(lengths, expected)
        np.testing.assert_array_equal(out.finished, [n < N or row[N - 1] in stops
                                                     for row, n in zip(free, expected)])
        assert int(out.steps) == max(expected)
        for row, n, ref in zip(tokens, expected, free):
            np.testing.assert_array_equal(row[:n], ref[:n])  # the longer free run, truncated
            assert (row[n:] == PAD).all()
        assert (np.asarray(out.logprobs)[tokens == PAD] == 0).all()
    assert int(out.steps) <= 4 < N


def test_shorter_run_is_a_prefix_of_a_longer_one(qwen3_dir):
    model = load(qwen3_dir[0])
    ids, mask = prompt_batch()
    kw = {"key": jax.random.key(7), "temperature": 0.8, "top_p": 0.9}
    long = generate(model, ids, mask, max_new_tokens=N, **kw)
    short = generate(model, ids, mask, max_new_tokens=8, **kw)
    np.testing.assert_array_equal(short.tokens, np.asarray(long.tokens)[:, :8])
    np.testing.assert_allclose(short.logprobs, np.asarray(long.logprobs)[:, :8], atol=1e-6)
    greedy = generate(model, ids, mask, max_new_tokens=8)
    assert (np.asarray(short.tokens) != np.asarray(greedy.tokens)).any()
    # temperature 0 is greedy whether or not a key is given
    np.testing.assert_array_equal(
        generate(model, ids, mask, max_new_tokens=8, key=jax.random.key(1)).tokens, greedy.tokens)


# ---------------------------------------------------------------------------------------------
# Sampling functions against closed forms

# probabilities 0.05, 0.5, 0.1, 0.2, 0.15 for ids 0..4
PROBS = np.array([0.05, 0.5, 0.1, 0.2, 0.15])
LOGITS = jnp.log(PROBS)
SAMPLES = 20_000


@jax.jit
def draw(keys, logits, temperature, top_p):
    """One token per key from a single row of logits, temperature/top_p traced."""
    return jax.vmap(lambda k: sample(k, logits[None], temperature, top_p)[0])(keys)


jit_top_p_mask = jax.jit(top_p_mask)  # top_p traced: one compilation per logits shape


def frequencies(tokens, vocab):
    return np.bincount(np.asarray(tokens), minlength=vocab) / len(tokens)


def five_sigma(p, n):
    """Per-token bound on |empirical - p| for n independent draws (binomial standard error)."""
    return 5 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_temperature_sampling_follows_tempered_softmax(temperature):
    keys = jax.random.split(jax.random.key(0), SAMPLES)
    freq = frequencies(draw(keys, LOGITS, temperature, 1.0), len(LOGITS))
    p = np.asarray(jax.nn.softmax(LOGITS / temperature))
    bound = five_sigma(p, SAMPLES)
    assert (np.abs(freq - p) <= bound).all(), (freq, p)
    # the bound is tight enough to reject the untempered distribution
    assert (np.abs(np.asarray(jax.nn.softmax(LOGITS)) - p) > 2 * bound).any()


def test_temperature_zero_is_greedy():
    keys = jax.random.split(jax.random.key(1), SAMPLES)  # the shape compiled above: no retrace
    assert (np.asarray(draw(keys, LOGITS, 0.0, 1.0)) == 1).all()
    assert (np.asarray(draw(keys, LOGITS, 0.0, 0.2)) == 1).all()


# the nucleus: the most probable tokens, each kept while the mass before it is below p
@pytest.mark.parametrize("top_p, nucleus", [(0.3, {1}), (0.6, {1, 3}), (0.75, {1, 3, 4}),
                                            (0.9, {1, 3, 4, 2}), (0.99, {0, 1, 2, 3, 4}),
                                            (1.0, {0, 1, 2, 3, 4})])
def test_top_p_nucleus_by_hand(top_p, nucleus):
    mask = np.asarray(jit_top_p_mask(LOGITS[None], top_p))[0]
    assert set(np.flatnonzero(mask)) == nucleus


# tempered probabilities at T = 0.5 are PROBS**2 / 0.325 = 0.008, 0.769, 0.031, 0.123, 0.069: the
# nucleus is taken after tempering ({1, 3, 4} at 0.8 without it)
@pytest.mark.parametrize("temperature, top_p, nucleus", [(1.0, 0.75, [1, 3, 4]),
                                                         (0.5, 0.8, [1, 3])])
def test_top_p_samples_stay_in_the_renormalised_nucleus(temperature, top_p, nucleus):
    keys = jax.random.split(jax.random.key(4), SAMPLES)
    freq = frequencies(draw(keys, LOGITS, temperature, top_p), len(PROBS))
    outside = np.setdiff1d(np.arange(len(PROBS)), nucleus)
    assert freq[outside].sum() == 0
    tempered = PROBS ** (1 / temperature)
    p = np.where(np.isin(np.arange(len(PROBS)), nucleus), tempered, 0)
    p = p / p.sum()
    assert (np.abs(freq - p) <= five_sigma(p, SAMPLES)).all(), (freq, p)


def test_top_p_mask_matches_transformers_warper():
    from transformers.generation.logits_process import TopPLogitsWarper

    logits = np.asarray(jax.random.normal(jax.random.key(5), (32, 40))) * 3
    for top_p in [0.05, 0.3, 0.7, 0.95]:
        ref = TopPLogitsWarper(top_p)(None, torch.tensor(logits)).isfinite().numpy()
        np.testing.assert_array_equal(np.asarray(jit_top_p_mask(jnp.asarray(logits), top_p)), ref)


# ---------------------------------------------------------------------------------------------
# Text and chat prompts


def chat_tokenizer():
    """A word-level ChatML tokenizer whose vocabulary fills the reference models' VOCAB ids."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    words = ["[UNK]", "system", "user", "assistant", "hello", "world", "how", "are", "you"]
    words += [f"w{i}" for i in range(VOCAB - len(specials) - len(words))]
    vocab = {w: i for i, w in enumerate(specials + words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
                "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
                "{% endif %}")
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", unk_token="[UNK]",
                                  additional_special_tokens=["<|im_start|>"],
                                  chat_template=template)
    assert len(tok) == VOCAB
    return tok, vocab


def test_chat_prompts_feed_the_chat_template_tokens(qwen3_dir, monkeypatch):
    model = load(qwen3_dir[0])
    tok, v = chat_tokenizer()
    chats = [[{"role": "user", "content": "hello world"}],
             [{"role": "system", "content": "you are"}, {"role": "user", "content": "how are you"}],
             [{"role": "user", "content": "w1 w2 w3"}]]
    # hand-rendered ChatML (the whitespace pre-tokenizer drops newlines), ending with the
    # generation prompt
    words = [["<|im_start|>", "user", "hello", "world", "<|im_end|>"],
             ["<|im_start|>", "system", "you", "are", "<|im_end|>",
              "<|im_start|>", "user", "how", "are", "you", "<|im_end|>"],
             ["<|im_start|>", "user", "w1", "w2", "w3", "<|im_end|>"]]
    expected = [[v[w] for w in row + ["<|im_start|>", "assistant"]] for row in words]
    stops = {v["<|im_end|>"], model.config.eos_token_id}
    fed, traces = [], []
    real_decode = llm.Qwen.decode

    def spy(*args, **kwargs):
        fed.append((args, kwargs))
        return generate(*args, **kwargs)

    def counting_decode(self, *args, **kwargs):  # runs only while a program is being traced
        traces.append(1)
        return real_decode(self, *args, **kwargs)

    monkeypatch.setattr(sys.modules["llm.generate"], "generate", spy)
    monkeypatch.setattr(llm.Qwen, "decode", counting_decode)
    texts = generate_text(model, tok, chats, chat=True, max_new_tokens=8)
    (args, kwargs), = fed
    tokens, mask = np.asarray(args[1]), np.asarray(args[2])
    assert tokens.shape == (3, 16)  # padded to a multiple of 16: shares the compiled program
    assert [row[m == 1].tolist() for row, m in zip(tokens, mask)] == expected
    assert (tokens[mask == 0] == v["<|endoftext|>"]).all()  # left padding with the pad id
    assert set(kwargs["stop_tokens"]) == stops

    # the same call made by hand gives the same text, and same shapes do not retrace
    traces.clear()
    out = generate(model, tokens, mask, max_new_tokens=8, stop_tokens=tuple(stops),
                   pad_id=v["<|endoftext|>"])
    assert not traces
    by_hand = [tok.decode(row[:n], skip_special_tokens=True)
               for row, n in zip(np.asarray(out.tokens).tolist(), np.asarray(out.lengths))]
    assert texts == by_hand
    assert not any("<|im" in t for t in texts)


def test_string_prompts_are_left_padded():
    tok, v = chat_tokenizer()
    tokens, mask = encode_prompts(tok, ["hello world", "how are you w3"], pad_id=0,
                                  pad_to_multiple_of=8)
    np.testing.assert_array_equal(tokens, [[0] * 6 + [v["hello"], v["world"]],
                                           [0] * 4 + [v["how"], v["are"], v["you"], v["w3"]]])
    np.testing.assert_array_equal(mask, [[0] * 6 + [1] * 2, [0] * 4 + [1] * 4])


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("change, name", [
    ({"tokens": np.arange(4)}, "tokens"),
    ({"tokens": np.ones((2, 4), np.float32)}, "tokens"),
    ({"tokens": np.full((2, 4), VOCAB)}, "tokens"),
    ({"attention_mask": np.ones((2, 5))}, "attention_mask"),
    ({"attention_mask": np.array([[1, 1, 1, 0], [1, 1, 1, 1]])}, "attention_mask"),
    ({"attention_mask": np.array([[0, 0, 0, 0], [1, 1, 1, 1]])}, "attention_mask"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"max_new_tokens": 2.5}, "max_new_tokens"),
    ({"max_new_tokens": 253}, "max_new_tokens"),  # 4 + 253 > max_position_embeddings = 256
    ({"temperature": -0.1}, "temperature"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"temperature": 0.7}, "key"),
    ({"stop_tokens": (VOCAB,)}, "stop_tokens"),
])
def test_bad_arguments_name_the_argument(qwen3_dir, change, name):
    args = {"tokens": np.ones((2, 4), np.int32), "attention_mask": np.ones((2, 4), np.int32),
            "max_new_tokens": 4}
    args.update(change)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        generate(load(qwen3_dir[0]), args.pop("tokens"), args.pop("attention_mask"), **args)

