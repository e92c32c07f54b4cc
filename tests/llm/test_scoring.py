"""Completion log-likelihoods against a direct computation from one unpadded forward pass."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import llm


@pytest.fixture(scope="module")
def model():
    config = llm.QwenConfig(vocab_size=40, hidden_size=32, intermediate_size=48,
                            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)
    return llm.Qwen(config, rngs=nnx.Rngs(0))


@nnx.jit
def _forward(model, ids):
    return model(ids)


def direct(model, prompt, completion):
    """Sum of log-probabilities read off one causal forward pass (trailing filler tokens cannot
    change earlier positions, so every call shares one compiled [1, 16] shape)."""
    row = list(prompt) + list(completion)
    ids = jnp.asarray([row + [0] * (16 - len(row))])
    logp = jax.nn.log_softmax(_forward(model, ids)[0], axis=-1)
    return sum(float(logp[len(prompt) + i - 1, t]) for i, t in enumerate(completion))


def test_completion_logprobs_match_direct_sum(model):
    rng = np.random.default_rng(0)
    prompts = [list(rng.integers(1, 40, n)) for n in (3, 9, 1, 5)]
    completions = [list(rng.integers(1, 40, n)) for n in (2, 1, 6, 3)]
    sums, counts = llm.completion_logprobs(model, prompts, completions, batch_size=3, bucket=8)
    assert counts.tolist() == [2, 1, 6, 3]
    expected = [direct(model, p, c) for p, c in zip(prompts, completions)]
    np.testing.assert_allclose(sums, expected, atol=1e-4, rtol=0)


def test_choose_picks_the_most_likely(model):
    prompts = [[5, 6, 7], [9]]
    choices = [[[1], [2, 3], [4]], [[8, 8], [11]]]
    picked = llm.choose(model, prompts, choices)
    for p, cs, k in zip(prompts, choices, picked):
        assert k == int(np.argmax([direct(model, p, c) for c in cs]))


def test_bad_input(model):
    with pytest.raises(ValueError, match="same length"):
        llm.completion_logprobs(model, [[1]], [[2], [3]])
    with pytest.raises(ValueError, match="at least one token"):
        llm.completion_logprobs(model, [[1]], [[]])
