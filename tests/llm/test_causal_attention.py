"""causal_attention (queries in blocks that read only earlier keys) against the unblocked
attention: values and gradients on every query that can attend, padding on either side, lengths
that do not divide into the blocks; the block count rule and the no-cache requirement."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from llm.attention import causal_attention, causal_block_count, dot_product_attention


def inputs(t, seed=0, b=3, h=4, kv=2, d=8):
    k = jax.random.split(jax.random.key(seed), 3)
    q = jax.random.normal(k[0], (b, t, h, d))
    keys = jax.random.normal(k[1], (b, t, kv, d))
    values = jax.random.normal(k[2], (b, t, kv, d))
    valid = np.ones((b, t), bool)
    valid[1, : t // 3] = False  # left padding
    valid[2, t - t // 4:] = False  # right padding
    mask = jnp.tril(jnp.ones((t, t), bool))[None] & jnp.asarray(valid)[:, None, :]
    return q, keys, values, mask, valid


@pytest.mark.parametrize("t,blocks", [(64, 2), (77, 3), (96, None), (40, 8)])
def test_equals_unblocked_attention_on_real_queries(t, blocks):
    q, k, v, mask, valid = inputs(t)
    blocked = causal_attention(q, k, v, mask, blocks)
    full = dot_product_attention(q, k, v, mask)
    assert blocked.shape == full.shape
    np.testing.assert_allclose(np.asarray(blocked)[valid], np.asarray(full)[valid], atol=1e-5)


def test_gradients_equal_unblocked_attention():
    q, k, v, mask, valid = inputs(77, seed=1)
    weight = jnp.asarray(valid, jnp.float32)[:, :, None]  # loss on real queries only

    def loss(fn, q, k, v):
        return jnp.sum((fn(q, k, v, mask).reshape(*q.shape[:2], -1) * weight) ** 2)

    g_blocked = jax.grad(lambda *a: loss(lambda *x: causal_attention(*x, 3), *a),
                         (0, 1, 2))(q, k, v)
    g_full = jax.grad(lambda *a: loss(dot_product_attention, *a), (0, 1, 2))(q, k, v)
    for a, b in zip(g_blocked, g_full):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_block_count_rule():
    assert [causal_block_count(t) for t in (1, 31, 64, 100, 256, 4096)] == [1, 1, 2, 3, 8, 8]


def test_needs_as_many_keys_as_queries():
    q, k, v, mask, _ = inputs(64)
    with pytest.raises(ValueError, match="64 queries but 32 keys"):
        causal_attention(q, k[:, :32], v[:, :32], mask[:, :, :32])
