"""Pipelined CNN: impulse delays, steady state == forward pass, forward == a lax.conv reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.pipeline import PipelineCNN, observation_delay, unroll

SHAPE, OUT, CHANNELS, HIDDEN, T = (8, 8, 2), 3, (4, 6), 16, 6


def _forward(net, o):
    """The ordinary forward pass, compiled (eager dispatch of its many small ops is slow)."""
    return jax.jit(lambda x: net.forward(x))(o)


def _net(variant):
    return PipelineCNN(SHAPE, OUT, jax.random.key(0), variant, CHANNELS, HIDDEN)


@pytest.mark.slow  # the MLP impulse tests cover the timing logic in the default suite
@pytest.mark.parametrize("variant", ["plain", pytest.param("skip", marks=pytest.mark.slow),
                                     pytest.param("concat", marks=pytest.mark.slow)])
def test_impulse_and_steady_state(variant):
    net = _net(variant)
    depth = net.depth
    assert depth == len(CHANNELS) + 2
    o_a, o_b = jax.random.uniform(jax.random.key(1), (2, *SHAPE))
    t0 = 2
    base = jnp.broadcast_to(o_a, (T, *SHAPE))
    seqs = jnp.stack([base, base.at[t0:].set(o_b)])
    out_a, out_b = jax.jit(jax.vmap(lambda x: unroll(net, net.initial_state(), x)[1]))(seqs)
    differs = np.abs(np.asarray(out_a - out_b)).max(axis=1) > 0
    assert not differs[:t0].any()
    assert int(np.argmax(differs)) - t0 + 1 == observation_delay(variant, depth)
    # a constant input for `depth` ticks gives the ordinary forward pass
    np.testing.assert_allclose(out_a[depth - 1:], np.broadcast_to(_forward(net, o_a),
                                                                  (T - depth + 1, OUT)),
                               rtol=1e-5, atol=1e-6)


def test_plain_forward_matches_lax_conv_reference():
    net = _net("plain")
    o = jax.random.uniform(jax.random.key(2), SHAPE)
    x = o[None]
    c_in = SHAPE[-1]
    for conv, c_out in zip(net.convs, CHANNELS):
        # patch features are ordered (row offset, col offset, channel)
        kernel = conv.weight.reshape(c_out, 3, 3, c_in).transpose(1, 2, 3, 0)  # HWIO
        x = jax.lax.conv_general_dilated(x, kernel, (1, 1), "VALID",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        x = jax.nn.relu(x + conv.bias)
        c_in = c_out
    h = jax.nn.relu(net.dense.weight @ x.reshape(-1) + net.dense.bias)
    ref = net.head.weight @ h + net.head.bias
    np.testing.assert_allclose(_forward(net, o), ref, rtol=1e-4, atol=1e-5)


def test_state_is_one_activation_per_hidden_layer():
    shapes = [s.shape for s in _net("plain").initial_state()]
    assert shapes == [(6, 6, 4), (4, 4, 6), (HIDDEN,)]
    with pytest.raises(ValueError, match="channels"):
        PipelineCNN(SHAPE, OUT, jax.random.key(0), "plain", (4, 4, 4, 4))
