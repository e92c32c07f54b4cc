"""EpMAN attention: reweighting, narrow/broad reads, noisy weights, and the read cache against
standard attention (llm.attention / Qwen itself)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import llm
from llm.attention import dot_product_attention
from llm.epman import attention as ep
from llm.epman import memory as mem
from llm.epman.config import EpmanConfig
from llm.epman.read import select


def _qkv(seed, b=2, t=5, s=12, h=4, kv=2, d=8):
    r = np.random.default_rng(seed)
    q = jnp.asarray(r.normal(size=(b, t, h, d)), jnp.float32)
    k = jnp.asarray(r.normal(size=(b, s, kv, d)), jnp.float32)
    v = jnp.asarray(r.normal(size=(b, s, kv, d)), jnp.float32)
    return q, k, v


def _reference(q, k, v, mask, w):
    """sum_j softmax_j(q.k_j / sqrt d) w_j v_j, written head by head with numpy."""
    q, k, v, mask, w = map(np.asarray, (q, k, v, mask, w))
    b, t, h, d = q.shape
    g = h // k.shape[2]
    out = np.zeros((b, t, h, d))
    for i in range(b):
        for j in range(h):
            sc = q[i, :, j] @ k[i, :, j // g].T / np.sqrt(d)
            sc = np.where(mask[i], sc, -np.inf)
            p = np.exp(sc - sc.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            out[i, :, j] = (p * w[i][None]) @ v[i, :, j // g]
    return out.reshape(b, t, h * d)


def test_unit_weights_equal_standard_attention():
    q, k, v = _qkv(0)
    mask = jnp.asarray(np.random.default_rng(1).random((2, 5, 12)) < 0.7).at[:, :, 0].set(True)
    out = ep.weighted_attention(q, k, v, mask, jnp.ones((2, 12)))
    np.testing.assert_allclose(out, dot_product_attention(q, k, v, mask), atol=1e-6)


def test_weights_scale_without_renormalising():
    q, k, v = _qkv(2)
    mask = jnp.ones((2, 5, 12), bool)
    w = jnp.asarray(np.random.default_rng(3).random((2, 12)), jnp.float32)
    np.testing.assert_allclose(ep.weighted_attention(q, k, v, mask, w),
                               _reference(q, k, v, mask, w), atol=1e-5)


def test_narrow_read_equals_attention_masked_to_selected_chunks():
    """Weighted attention over the gathered top-K chunks (weights 1) equals full attention
    with keys outside the selected chunks masked out."""
    q, k, v = _qkv(4, s=16)
    c, n = 4, 4
    scores = jnp.asarray([[0.1, 0.9, -0.3, 0.5], [0.8, 0.0, 0.2, 0.7]])
    order, valid, weights = select(scores, jnp.ones((2, n), bool), 2, jnp.zeros(2, bool), 2,
                                   weighting="uniform", train=True)
    np.testing.assert_array_equal(order, [[1, 3], [0, 3]])
    assert bool(valid.all())
    rows = jnp.arange(2)[:, None]
    gather = lambda x: x.reshape(2, n, c, *x.shape[2:])[rows, order].reshape(2, 2 * c, *x.shape[2:])
    w_tok = jnp.repeat(weights[rows, order], c, axis=1)
    narrow = ep.weighted_attention(q, gather(k), gather(v), jnp.ones((2, 5, 2 * c), bool), w_tok)
    chunk_sel = np.zeros((2, n), bool)
    chunk_sel[0, [1, 3]] = chunk_sel[1, [0, 3]] = True
    masked = jnp.asarray(np.repeat(chunk_sel, c, axis=1))[:, None, :].repeat(5, axis=1)
    np.testing.assert_allclose(narrow, dot_product_attention(q, k, v, masked), atol=1e-6)


def test_broad_mask_holds_exactly_the_neighbours():
    sel = np.zeros((3, 8), bool)
    sel[0, [0, 5]] = True
    sel[1, [7]] = True
    sel[2, [2, 3]] = True
    want = np.zeros((3, 8), bool)
    want[0, [0, 1, 4, 5, 6]] = True
    want[1, [6, 7]] = True
    want[2, [1, 2, 3, 4]] = True
    np.testing.assert_array_equal(ep.broad_mask(jnp.asarray(sel)), want)


def test_broad_neighbours_take_the_largest_adjacent_selected_weight():
    sel = jnp.asarray([[False, True, False, True, False]])
    w = jnp.asarray([[0.0, 0.3, 0.0, 0.8, 0.0]])
    np.testing.assert_allclose(ep.widen_weights(w, sel), [[0.3, 0.3, 0.8, 0.8, 0.8]])


def test_noisy_weights_only_permute_among_selected_chunks():
    r = np.random.default_rng(5)
    scores = jnp.asarray(r.uniform(-1, 1, (6, 10)), jnp.float32)
    idx = ep.top_k_indices(scores, 4)
    a_mem = np.asarray(ep.memory_weights(scores))
    noisy = np.asarray(ep.chunk_weights(scores, idx, weighting="noisy", key=jax.random.key(0),
                                        train=True))
    sel = np.asarray(ep.selection_mask(idx, 10))
    assert (noisy[~sel] == 0).all()
    for i in range(6):
        np.testing.assert_allclose(np.sort(noisy[i, sel[i]]), np.sort(a_mem[i, sel[i]]))
    assert not np.allclose(noisy[sel], a_mem[sel])  # some row was actually permuted
    uniform = ep.chunk_weights(scores, idx, weighting="uniform", train=True)
    np.testing.assert_array_equal(uniform, sel.astype(np.float32))


def test_tempered_memory_weights_are_the_softmax_scaled_to_a_best_of_one():
    scores = jnp.asarray([[0.9, 0.5, -0.2, -2.0], [0.1, 0.3, 0.3, 0.2]], jnp.float32)
    t = 0.1
    for i, row in enumerate(np.asarray(scores, np.float64)):
        soft = np.exp(row / t) / np.exp(row / t).sum()  # softmax over the row's chunks
        np.testing.assert_allclose(ep.memory_weights(scores, t)[i], soft / soft.max(), rtol=1e-5)
    np.testing.assert_allclose(ep.memory_weights(scores, 0.0), (1 + scores) / 2)
    # sharper than the affine map: the runner-up of row 0 weighs e^-4 of the best, not 0.79
    want0 = [1.0, np.exp(-4.0), 0.0, 0.0]
    sel = ep.chunk_weights(scores, ep.top_k_indices(scores, 2), temperature=t)
    np.testing.assert_allclose(sel[0], want0, rtol=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        ep.memory_weights(scores, -1.0)
    # the read path passes it on: inference weights of the selected chunks, broad neighbours
    # taking the larger weight beside them
    _, _, w = select(scores, scores > -2, 2, jnp.asarray([False, True]), 4, temperature=t)
    a = np.exp((np.asarray([0.1, 0.3, 0.3, 0.2]) - 0.3) / t)  # row 1 selects chunks 1 and 2
    np.testing.assert_allclose(w, [want0, [a[1], a[1], a[2], a[2]]], rtol=1e-5)


def test_cosine_scores_match_numpy():
    r = np.random.default_rng(6)
    qe, ce = r.normal(size=(2, 5)), r.normal(size=(2, 3, 5))
    want = np.einsum("be,bne->bn", qe, ce) / (np.linalg.norm(qe, axis=-1)[:, None]
                                              * np.linalg.norm(ce, axis=-1))
    np.testing.assert_allclose(ep.cosine_scores(jnp.asarray(qe), jnp.asarray(ce)), want,
                               atol=1e-6)


def _one_layer_model():
    cfg = llm.QwenConfig(vocab_size=40, hidden_size=32, intermediate_size=48, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
                         max_position_embeddings=256)
    return llm.Qwen(cfg, rngs=nnx.Rngs(0))


def test_reading_every_chunk_with_unit_weights_reproduces_the_model():
    """One layer: keys/values of independently encoded chunks, moved to their positions, are
    those of the full sequence, so reading all chunks in order with weights 1 gives Qwen's own
    logits for the query."""
    model = _one_layer_model()
    r = np.random.default_rng(7)
    ctx = jnp.asarray(r.integers(0, 40, (2, 24)), jnp.int32)
    q = jnp.asarray(r.integers(0, 40, (2, 5)), jnp.int32)

    @nnx.jit
    def read_all(model, ctx, q):
        m = mem.write(model, ctx, jnp.ones(ctx.shape, bool), 8)
        order, valid = jnp.tile(jnp.arange(3), (2, 1)), jnp.ones((2, 3), bool)
        cache = mem.read_cache(m, order, valid, jnp.ones((2, 3)), 5, model.config.rope_theta)
        return model.decode(q, cache)[0], model(jnp.concatenate([ctx, q], 1))[:, 24:]

    logits, want = read_all(model, ctx, q)
    np.testing.assert_allclose(logits, want, atol=1e-5)


@pytest.mark.slow
def test_read_cache_compacts_selected_chunks():
    """Reading chunks 0 and 2 is reading the sequence [chunk 0, chunk 2] (one-layer model)."""
    model = _one_layer_model()
    r = np.random.default_rng(8)
    ctx = jnp.asarray(r.integers(0, 40, (1, 24)), jnp.int32)
    q = jnp.asarray(r.integers(0, 40, (1, 4)), jnp.int32)
    m = mem.write(model, ctx, jnp.ones(ctx.shape, bool), 8)
    cache = mem.read_cache(m, jnp.asarray([[0, 2]]), jnp.ones((1, 2), bool), jnp.ones((1, 3)), 4,
                           model.config.rope_theta)
    logits, _ = model.decode(q, cache)
    seq = jnp.concatenate([ctx[:, :8], ctx[:, 16:], q], 1)
    np.testing.assert_allclose(logits, model(seq)[:, 16:], atol=1e-5)


def test_chunking_pads_the_tail():
    t = jnp.arange(10)[None]
    chunks, mask = mem.chunk_tokens(t, jnp.ones((1, 10), bool), 4, pad_id=-1)
    np.testing.assert_array_equal(chunks[0, 2], [8, 9, -1, -1])
    np.testing.assert_array_equal(mask[0].sum(-1), [4, 4, 2])


@pytest.mark.parametrize("field,kwargs", [("chunk_size", dict(chunk_size=0)),
                                          ("chunk_size", dict(chunk_size=-3)),
                                          ("top_k", dict(top_k=0)),
                                          ("span", dict(span="wide")),
                                          ("weighting", dict(weighting="random")),
                                          ("memory_temperature",
                                           dict(memory_temperature=-0.1)),
                                          ("memory_temperature",
                                           dict(memory_temperature=float("nan")))])
def test_bad_settings_name_the_field(field, kwargs):
    with pytest.raises(llm.ConfigError, match=f"EpmanConfig.{field}"):
        EpmanConfig(**kwargs)


def test_top_k_larger_than_chunk_count_raises():
    with pytest.raises(llm.ConfigError, match="EpmanConfig.top_k=5"):
        EpmanConfig(chunk_size=8, top_k=5).check_chunks(32)
    assert EpmanConfig(chunk_size=8, top_k=4).check_chunks(30) == 4
    with pytest.raises(ValueError, match="chunk_size"):
        mem.chunk_tokens(jnp.zeros((1, 4), jnp.int32), jnp.ones((1, 4)), 0)
