"""Logit parity with transformers + torch on the same weights (the reference for the decoder)."""

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import left_padded_batch, torch
from flax import nnx

import llm

TOL = 1e-4


def reference_logits(hf_model, ids, mask):
    positions = np.maximum(mask.cumsum(1) - 1, 0)
    with torch.no_grad():
        out = hf_model(torch.tensor(ids), attention_mask=torch.tensor(mask),
                       position_ids=torch.tensor(positions))
    return out.logits.numpy()


@pytest.mark.parametrize("length", [1, 7, 33, 100])  # 100: causal blocks of 33/33/34
def test_logits_match_transformers(reference, length):
    directory, hf_model = reference
    model, _ = llm.load(directory)
    ids = np.random.default_rng(length).integers(0, hf_model.config.vocab_size, (2, length))
    mask = np.ones_like(ids)
    ours = np.asarray(model(jnp.asarray(ids)))
    np.testing.assert_allclose(ours, reference_logits(hf_model, ids, mask), atol=TOL, rtol=0)


def test_padded_batch_matches_transformers(reference):
    directory, hf_model = reference
    model, _ = llm.load(directory)
    ids, mask = left_padded_batch(np.random.default_rng(1), [12, 70, 9])  # 70: two blocks
    ours = np.asarray(model(jnp.asarray(ids), attention_mask=jnp.asarray(mask)))
    ref = reference_logits(hf_model, ids, mask)
    real = mask.astype(bool)
    assert np.abs(ours - ref)[real].max() < TOL
    # each padded row equals that prompt run alone, unpadded
    for row in range(len(ids)):
        alone = np.asarray(model(jnp.asarray(ids[row:row + 1, real[row]])))[0]
        np.testing.assert_allclose(ours[row, real[row]], alone, atol=TOL, rtol=0)


def test_kv_cache_decode_matches_full_forward():
    config = llm.QwenConfig.qwen3(vocab_size=50, hidden_size=32, intermediate_size=48,
                                  num_hidden_layers=2, num_attention_heads=4,
                                  num_key_value_heads=2, head_dim=16)
    model = llm.Qwen(config, rngs=nnx.Rngs(0))
    ids, mask = left_padded_batch(np.random.default_rng(2), [9, 6], vocab=50)
    ids, mask = jnp.asarray(ids), jnp.asarray(mask)
    full = model(ids, attention_mask=mask)
    cache = llm.KVCache.init(config, 2, 16)
    logits, cache = model.decode(ids[:, :5], cache, mask[:, :5])
    steps = [logits]
    for t in range(5, 9):
        logits, cache = model.decode(ids[:, t:t + 1], cache, mask[:, t:t + 1])
        steps.append(logits)
    incremental = jnp.concatenate(steps, axis=1)
    np.testing.assert_allclose(np.asarray(incremental * mask[..., None]),
                               np.asarray(full * mask[..., None]), atol=1e-5, rtol=0)
    assert cache.lengths.tolist() == [9, 6] and int(cache.index) == 9


def test_bfloat16_close_to_float32(qwen3_dir):
    directory, _ = qwen3_dir
    m32, _ = llm.load(directory)
    m16, _ = llm.load(directory, param_dtype=jnp.bfloat16)
    assert m16.model.layers[0].mlp.up_proj.kernel.value.dtype == jnp.bfloat16
    ids = jnp.asarray(np.random.default_rng(3).integers(0, 97, (2, 10)))
    a, b = m32(ids), m16(ids)
    assert b.dtype == jnp.float32
    # bfloat16 keeps ~3 significant digits: compare against the logits' own scale
    assert float(jnp.abs(a - b).max()) < 0.05 * float(jnp.abs(a).max())
    assert float(jnp.abs(a - b).max()) > 0  # really computed in lower precision


def test_config_errors():
    with pytest.raises(llm.ConfigError, match="num_key_value_heads"):
        llm.QwenConfig(num_attention_heads=6, num_key_value_heads=4)
    with pytest.raises(llm.ConfigError, match="model_type"):
        llm.QwenConfig(model_type="llama")
    with pytest.raises(llm.ConfigError, match="not implemented"):
        llm.QwenConfig.from_hf({"model_type": "llama", "architectures": ["LlamaForCausalLM"]})
    with pytest.raises(llm.ConfigError, match="rope_type"):
        llm.QwenConfig.from_hf({**llm.QwenConfig().to_hf(),
                                "rope_parameters": {"rope_type": "yarn", "factor": 4.0}})
