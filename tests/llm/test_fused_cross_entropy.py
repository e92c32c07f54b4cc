"""Fused chunked LM-head cross-entropy against the plain logits -> log-softmax -> NLL path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import llm
from llm.fused_cross_entropy import linear_cross_entropy
from llm.losses import model_nll_sum


def plain(hidden, weight, targets, weights):
    logits = jnp.dot(hidden, weight.T, preferred_element_type=jnp.float32)
    nll = jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, targets[:, None], -1)[:, 0]
    return jnp.sum(nll * weights)


@pytest.mark.parametrize("chunk", [pytest.param(1, marks=pytest.mark.slow), 7, 37, 256])
def test_value_and_gradients_match_the_plain_loss(chunk):
    k = jax.random.split(jax.random.key(chunk), 4)
    n, d, v = 37, 16, 50
    hidden = jax.random.normal(k[0], (n, d))
    weight = jax.random.normal(k[1], (v, d)) * 0.3
    targets = jax.random.randint(k[2], (n,), 0, v)
    weights = (jax.random.uniform(k[3], (n,)) > 0.3).astype(jnp.float32)
    expected, (gh, gw) = jax.value_and_grad(plain, (0, 1))(hidden, weight, targets, weights)
    got, (fh, fw) = jax.value_and_grad(
        lambda h, w: linear_cross_entropy(h, w, targets, weights, chunk), (0, 1))(hidden, weight)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(fh, gh, atol=1e-6)
    np.testing.assert_allclose(fw, gw, atol=1e-6)
    # masked-out tokens get no gradient
    assert float(jnp.abs(fh[weights == 0]).max()) == 0.0


def test_bad_shapes_are_rejected():
    h, w = jnp.zeros((4, 8)), jnp.zeros((10, 8))
    with pytest.raises(ValueError, match="weight"):
        linear_cross_entropy(h, jnp.zeros((10, 9)), jnp.zeros(4, int), jnp.ones(4))
    with pytest.raises(ValueError, match="targets"):
        linear_cross_entropy(h, w, jnp.zeros(3, int), jnp.ones(4))
    with pytest.raises(ValueError, match="chunk"):
        linear_cross_entropy(h, w, jnp.zeros(4, int), jnp.ones(4), chunk=0)


@pytest.mark.parametrize("tie", [pytest.param(True, marks=pytest.mark.slow), False])
def test_model_loss_fused_equals_unfused(tie):
    config = llm.QwenConfig(vocab_size=97, hidden_size=32, intermediate_size=64,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            max_position_embeddings=64, tie_word_embeddings=tie)
    model = llm.Qwen(config, rngs=nnx.Rngs(0))
    tokens = jax.random.randint(jax.random.key(1), (3, 11), 0, 97)
    attention = jnp.ones_like(tokens).at[0, :3].set(0)
    loss_mask = attention.at[1, 5:].set(0)

    def loss(m, fused):
        return model_nll_sum(m, tokens, attention, loss_mask, fused=fused)

    (a, count_a), ga = loss(model, True), nnx.grad(lambda m: loss(m, True)[0])(model)
    (b, count_b), gb = loss(model, False), nnx.grad(lambda m: loss(m, False)[0])(model)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert float(count_a) == float(count_b) == float(loss_mask[:, 1:].sum())
    for x, y in zip(jax.tree.leaves(ga), jax.tree.leaves(gb)):
        np.testing.assert_allclose(x, y, atol=1e-5)


def test_lora_wrapped_head_falls_back_to_the_plain_loss():
    config = llm.QwenConfig(vocab_size=50, hidden_size=16, intermediate_size=32,
                            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                            max_position_embeddings=32, tie_word_embeddings=False)
    model = llm.Qwen(config, rngs=nnx.Rngs(0))
    assert model.lm_head_weight().shape == (50, 16)
    llm.apply_lora(model, llm.LoraConfig(r=2, lora_alpha=4, target_modules=["lm_head"]),
                   rngs=nnx.Rngs(1))
    assert model.lm_head_weight() is None
