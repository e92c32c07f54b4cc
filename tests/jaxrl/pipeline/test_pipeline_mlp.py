"""Pipelined MLP: impulse delays, parallel tick == layer-by-layer tick, steady state == the
ordinary forward pass, and depth 1 == the ordinary network computed by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.pipeline import PipelineMLP, observation_delay, unroll

OBS, WIDTH, OUT, T = 5, 8, 3, 12


def _forward(net, o):
    """The ordinary forward pass, compiled (eager dispatch of its many small ops is slow)."""
    return jax.jit(lambda x: net.forward(x))(o)


def _net(variant, depth, seed=0):
    return PipelineMLP(OBS, WIDTH, depth, OUT, jax.random.key(seed), variant)


def _runs(net, t0):
    """Outputs for three input sequences in one compiled call: constant o_a, o_a switched to
    o_b at tick t0, and the switched one again computed layer by layer."""
    o_a, o_b = jax.random.normal(jax.random.key(1), (2, OBS))
    base = jnp.broadcast_to(o_a, (T, OBS))
    seqs = jnp.stack([base, base.at[t0:].set(o_b)])
    out = jax.jit(lambda xs: (jax.vmap(lambda x: unroll(net, net.initial_state(), x)[1])(xs),
                              unroll(net, net.initial_state(), xs[1], sequential=True)[1]))(seqs)
    return o_a, out


@pytest.mark.parametrize("depth", [pytest.param(2, marks=pytest.mark.slow), 5])
@pytest.mark.parametrize("variant", ["plain", "skip",
                                     pytest.param("concat", marks=pytest.mark.slow)])
def test_impulse_parallel_tick_and_steady_state(variant, depth):
    t0 = 3
    net = _net(variant, depth)
    o_a, ((out_a, out_b), out_seq) = _runs(net, t0)
    # the input change reaches the output after N ticks (plain) or 1 tick (skip, concat),
    # counting the tick in which it arrives
    differs = np.abs(np.asarray(out_a - out_b)).max(axis=1) > 0
    assert not differs[:t0].any()
    ticks = int(np.argmax(differs)) - t0 + 1
    assert ticks == (depth if variant == "plain" else 1) == observation_delay(variant, depth)
    # the parallel tick (one batched op over the stacked layers) == layer by layer
    np.testing.assert_allclose(out_b, out_seq, rtol=1e-6, atol=1e-6)
    # a constant input held for N ticks gives exactly the ordinary forward pass
    np.testing.assert_allclose(out_a[depth - 1:],
                               np.broadcast_to(_forward(net, o_a), (T - depth + 1, OUT)),
                               rtol=1e-5, atol=1e-6)
    if variant == "plain":  # one tick earlier the deepest layer still held its zero state
        assert not np.allclose(out_a[depth - 2], net.forward(o_a))


def test_parallel_and_sequential_ticks_agree_on_the_state():
    net = _net("concat", 5)
    obs = jax.random.normal(jax.random.key(2), (T, OBS))
    s_par, s_seq = jax.jit(lambda o: (unroll(net, net.initial_state(), o)[0],
                                      unroll(net, net.initial_state(), o, sequential=True)[0]))(obs)
    np.testing.assert_allclose(s_par, s_seq, rtol=1e-6, atol=1e-6)
    assert s_par.shape == (4, WIDTH)


def _numpy_forward(net, o, variant):
    """Independent reference: the network written out in NumPy from its weights."""
    w = lambda lin: (np.asarray(lin.weight, np.float64), np.asarray(lin.bias, np.float64))
    o = np.asarray(o, np.float64)
    w1, b1 = w(net.first)
    hs = [np.tanh(w1 @ o + b1)]
    for i in range(net.depth - 2):
        x = hs[-1] if variant != "concat" else np.concatenate([hs[-1], o])
        hs.append(np.tanh(np.asarray(net.middle.weight[i]) @ x + np.asarray(net.middle.bias[i])))
    x = {"plain": hs[-1], "concat": np.concatenate([hs[-1], o]),
         "skip": np.concatenate([o, *hs])}[variant]
    wh, bh = w(net.head)
    return wh @ x + bh


@pytest.mark.parametrize("variant", ["plain", "skip", "concat"])
def test_forward_matches_numpy_reference(variant):
    net = _net(variant, 4)
    o = jax.random.normal(jax.random.key(4), (OBS,))
    np.testing.assert_allclose(net.forward(o), _numpy_forward(net, o, variant), rtol=1e-4,
                               atol=1e-5)


def test_depth_one_is_the_ordinary_network():
    net = _net("plain", 1)
    assert all(_net(v, 1).head.weight.shape == (OUT, OBS) for v in ("skip", "concat"))
    obs = jax.random.normal(jax.random.key(5), (T, OBS))
    state, out = unroll(net, net.initial_state(), obs)
    w, b = np.asarray(net.head.weight), np.asarray(net.head.bias)
    np.testing.assert_allclose(out, np.asarray(obs) @ w.T + b, rtol=1e-5, atol=1e-6)
    assert state.shape == (0, WIDTH)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="variant"):
        _net("slow", 3)
    with pytest.raises(ValueError, match="depth"):
        _net("plain", 0)
