"""Networks: orthogonal init of MLP/MinAtarCNN, the IMPALA torso against a PyTorch re-statement of
the paper's network on the same weights, LSTM/GRU cells against numpy equations, and the
Transformer encoder against ``torch.nn.TransformerEncoderLayer`` plus its masking, causality and
sliding-window properties.

Compilation dominates the run time here (every new array shape in eager JAX compiles), so the
networks are built once per shape (``functools.cache``), test data comes from numpy, and modules
are applied through two cached ``filter_jit`` wrappers."""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jaxrl.networks import (
    MLP,
    GRUCell,
    ImpalaCNN,
    LSTMCell,
    MinAtarCNN,
    TransformerCell,
    TransformerEncoder,
)

KEY = jax.random.key(0)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def normal(shape, seed=0) -> np.ndarray:
    return rng(seed).standard_normal(shape).astype(np.float32)


@eqx.filter_jit
def call(f, *args):
    return f(*args)


@eqx.filter_jit
def vcall(f, *args):
    return jax.vmap(f)(*args)


def n_params(model) -> int:
    """Parameter count; works on ``eqx.filter_eval_shape`` output (every leaf is a weight)."""
    return sum(math.prod(x.shape) for x in jax.tree.leaves(model))


def np_(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


IMPALA_OBS = (9, 12, 3)  # SAME pooling pads (1, 1) for 9 and 5 but (0, 1) for 12 and 6


@functools.cache
def impala():
    """Small channels for the value checks (few distinct shapes, so little to compile); the
    default sizes are checked through ``eqx.filter_eval_shape``."""
    return ImpalaCNN(IMPALA_OBS, KEY, channels=(8, 8, 8), hidden=32)


D_MODEL, HEADS, LAYERS, MLP_RATIO, WINDOW = 8, 2, 2, 2, 7


@functools.cache
def encoder(causal=False):
    return TransformerEncoder(3, D_MODEL, LAYERS, HEADS, MLP_RATIO, KEY, max_len=WINDOW,
                              causal=causal)


@functools.cache
def transformer_cell():
    return TransformerCell(3, D_MODEL, LAYERS, HEADS, WINDOW, KEY, mlp_ratio=MLP_RATIO)


CELLS = {
    "lstm": functools.cache(lambda: LSTMCell(3, 8, KEY)),
    "gru": functools.cache(lambda: GRUCell(3, 8, KEY)),
    "transformer": transformer_cell,
}


# ---------------------------------------------------------------- MLP / MinAtarCNN


def assert_orthogonal(w, gain):
    """Rows orthonormal (·gain) for a short/square matrix, columns for a tall one."""
    w = np_(w)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-5)


@functools.cache
def mlp_head():
    return MLP(6, [16, 4], 3, KEY, activation_name="tanh", out_scale=0.01)


def test_mlp_orthogonal_init_and_shapes():
    mlp = mlp_head()
    shapes = [layer.weight.shape for layer in mlp.layers]
    assert shapes == [(16, 6), (4, 16), (3, 4)]
    for layer, gain in zip(mlp.layers, [math.sqrt(2), math.sqrt(2), 0.01]):
        assert_orthogonal(layer.weight, gain)
        np.testing.assert_array_equal(np.asarray(layer.bias), 0.0)
    x = normal((5, 6))
    assert vcall(mlp, x).shape == (5, 3)
    torso = MLP(6, [16, 4], None, KEY, activation_name="relu")
    out = vcall(torso, x)
    assert out.shape == (5, 4) and bool(jnp.all(out >= 0))  # last hidden layer is activated


def test_minatar_cnn_orthogonal_dense_and_shape():
    net = MinAtarCNN((10, 10, 4), KEY)
    assert net.dense.weight.shape == (128, 16 * 8 * 8)
    assert_orthogonal(net.dense.weight, math.sqrt(2))
    obs = rng().random((2, 10, 10, 4)) < 0.3
    out = vcall(net, obs)
    assert out.shape == (2, net.out_size) == (2, 128)


# ---------------------------------------------------------------- IMPALA


def impala_param_count(obs_shape, channels, hidden):
    """Closed form: per stage conv + 4 residual convs (3×3 with bias), then the dense layer."""
    h, w, c_in = obs_shape
    total = 0
    for ch in channels:
        total += 9 * c_in * ch + ch + 4 * (9 * ch * ch + ch)
        c_in, h, w = ch, math.ceil(h / 2), math.ceil(w / 2)
    return total + c_in * h * w * hidden + hidden


@pytest.mark.parametrize(
    "obs_shape, flat", [((10, 10, 4), 32 * 2 * 2), ((64, 64, 3), 32 * 8 * 8)]
)
def test_impala_output_shape(obs_shape, flat):
    # Shapes only, so traced without compiling; values are checked against torch below.
    net = eqx.filter_eval_shape(ImpalaCNN, obs_shape, KEY)
    assert net.dense.weight.shape == (256, flat)  # 10→5→3→2 and 64→32→16→8 with SAME pooling
    obs = jax.ShapeDtypeStruct((2, *obs_shape), jnp.uint8)
    out = jax.eval_shape(lambda o: jax.vmap(ImpalaCNN(obs_shape, KEY))(o), obs)
    assert out.shape == (2, net.out_size) == (2, 256)


def test_impala_width_doubles_channels():
    narrow = eqx.filter_eval_shape(ImpalaCNN, (10, 10, 4), KEY)
    wide = eqx.filter_eval_shape(ImpalaCNN, (10, 10, 4), KEY, width=2)
    assert [s.conv.out_channels for s in narrow.stages] == [16, 32, 32]
    assert [s.conv.out_channels for s in wide.stages] == [32, 64, 64]
    assert n_params(narrow) == impala_param_count((10, 10, 4), (16, 32, 32), 256)
    assert n_params(wide) == impala_param_count((10, 10, 4), (32, 64, 64), 256)


def test_impala_gradient_reaches_every_parameter():
    obs = rng(1).random((2, *IMPALA_OBS)) < 0.5

    @eqx.filter_jit
    @eqx.filter_grad
    def grad(model):
        return jnp.sum(jax.vmap(model)(obs) ** 2)

    leaves = jax.tree.leaves(eqx.filter(grad(impala()), eqx.is_inexact_array))
    assert len(leaves) == 2 * 3 * 5 + 2  # (weight, bias) × 3 stages × 5 convs + dense
    for g in leaves:
        assert bool(jnp.all(jnp.isfinite(g)))
        assert float(jnp.abs(g).sum()) > 0


def torch_impala(net: ImpalaCNN, obs: np.ndarray) -> np.ndarray:
    """The IMPALA deep torso written out in PyTorch, with TF "SAME" pooling padded by hand."""

    def t(a):
        return torch.tensor(np.asarray(a), dtype=torch.float64)

    def conv(layer, x):
        return F.conv2d(x, t(layer.weight), t(layer.bias).reshape(-1), padding=1)

    def pool(x):
        pads = []
        for n in (x.shape[3], x.shape[2]):  # F.pad order: last dim first
            total = max((math.ceil(n / 2) - 1) * 2 + 3 - n, 0)
            pads += [total // 2, total - total // 2]
        return F.max_pool2d(F.pad(x, pads, value=-math.inf), 3, 2)

    x = t(obs).permute(0, 3, 1, 2) / 255.0
    for stage in net.stages:
        x = pool(conv(stage.conv, x))
        for block in stage.blocks:
            x = x + conv(block.conv2, F.relu(conv(block.conv1, F.relu(x))))
    x = F.relu(x).flatten(1)
    return F.relu(x @ t(net.dense.weight).T + t(net.dense.bias)).numpy()


def test_impala_matches_torch_reference():
    net = impala()
    obs = rng(2).integers(0, 256, (2, *IMPALA_OBS)).astype(np.uint8)
    ours = vcall(net, jnp.asarray(obs))
    np.testing.assert_allclose(np.asarray(ours), torch_impala(net, obs), rtol=1e-4, atol=1e-5)


def test_impala_rejects_bad_input():
    with pytest.raises(ValueError, match="obs_shape"):
        ImpalaCNN((10, 10), KEY)
    with pytest.raises(ValueError, match="width"):
        ImpalaCNN((10, 10, 4), KEY, width=0)
    with pytest.raises(ValueError, match="obs must have shape"):
        jax.eval_shape(impala(), jnp.zeros((9, 12, 4)))


# ---------------------------------------------------------------- LSTM / GRU


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_lstm(cell: LSTMCell, xs):
    """i, f, g, o = σ, σ, tanh, σ of W_i x + W_h h + b; c' = f c + i g; h' = o tanh(c')."""
    w_ih, w_hh, b = np_(cell.cell.weight_ih), np_(cell.cell.weight_hh), np_(cell.cell.bias)
    n = cell.out_size
    h, c, hs = np.zeros(n), np.zeros(n), []
    for x in np_(xs):
        z = w_ih @ x + w_hh @ h + b
        i, f = sigmoid(z[:n]), sigmoid(z[n:2 * n])
        g, o = np.tanh(z[2 * n:3 * n]), sigmoid(z[3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs), (h, c)


def numpy_gru(cell: GRUCell, xs):
    """r, z = σ(W_i x + b_i + W_h h); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
    h' = (1 - z) n + z h (Cho et al. 2014, cuDNN placement of the reset gate)."""
    w_ih, w_hh = np_(cell.cell.weight_ih), np_(cell.cell.weight_hh)
    b, b_hn = np_(cell.cell.bias), np_(cell.cell.bias_n)
    n = cell.out_size
    h, hs = np.zeros(n), []
    for x in np_(xs):
        gi, gh = w_ih @ x + b, w_hh @ h
        r = sigmoid(gi[:n] + gh[:n])
        z = sigmoid(gi[n:2 * n] + gh[n:2 * n])
        cand = np.tanh(gi[2 * n:] + r * (gh[2 * n:] + b_hn))
        h = (1 - z) * cand + z * h
        hs.append(h)
    return np.stack(hs), h


def scan_cell(cell, xs):
    """One sequence through the cell with lax.scan (the contract's intended use)."""
    return jax.lax.scan(lambda s, x: cell(s, x), cell.initial_state(), xs)


@pytest.mark.parametrize("name, reference", [("lstm", numpy_lstm), ("gru", numpy_gru)])
def test_rnn_cell_matches_numpy_equations(name, reference):
    cell = CELLS[name]()
    xs = normal((4, 6, 3), seed=1)  # batch of 4 sequences of length 6
    final, ys = eqx.filter_jit(jax.vmap(scan_cell, in_axes=(None, 0)))(cell, xs)
    assert ys.shape == (4, 6, cell.out_size)
    for b in range(4):
        want_ys, want_final = reference(cell, xs[b])
        np.testing.assert_allclose(np.asarray(ys[b]), want_ys, rtol=1e-5, atol=1e-5)
        got_final = jax.tree.leaves(jax.tree.map(lambda a: np.asarray(a[b]), final))
        for g, w in zip(got_final, jax.tree.leaves(want_final), strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_contract(name):
    cell = CELLS[name]()
    state = cell.initial_state()
    x = normal((3,), seed=2)
    new_state, y = call(cell, state, x)
    assert y.shape == (cell.out_size,) == (8,)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(new_state), jax.tree.leaves(state), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
    # Batched by the caller: vmap over states and inputs; resetting a finished sequence
    # restores the initial state exactly, so its next output equals a fresh sequence's.
    batch = jax.tree.map(lambda s: np.stack([s, s]), state)
    batch, _ = vcall(cell, batch, normal((2, 3), seed=3))
    done = np.array([True, False])
    batch = jax.tree.map(
        lambda s0, s: np.where(done.reshape(-1, *[1] * (s.ndim - 1)), s0, s), state, batch
    )
    _, ys = vcall(cell, batch, np.stack([x, x]))
    np.testing.assert_allclose(np.asarray(ys[0]), np.asarray(y), rtol=1e-6, atol=1e-7)
    assert not np.allclose(np.asarray(ys[1]), np.asarray(y))


# ---------------------------------------------------------------- Transformer


def torch_encoder(enc: TransformerEncoder, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Same weights in torch.nn.TransformerEncoderLayer(norm_first=True, gelu), float64."""
    d, t = enc.out_size, x.shape[0]

    def p(a):
        return torch.tensor(np.asarray(a), dtype=torch.float64)

    h = p(x) @ p(enc.embed.weight).T + p(enc.embed.bias)
    h = (h + p(enc.pos[:t]))[None]
    pad = torch.tensor(~mask)[None]  # torch: True = ignore
    causal = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if enc.causal else None
    for blk in enc.blocks:
        layer = torch.nn.TransformerEncoderLayer(
            d, blk.attn.num_heads, blk.fc1.out_features, dropout=0.0, activation="gelu",
            batch_first=True, norm_first=True, dtype=torch.float64,
        )
        a = blk.attn
        sd = {
            "self_attn.in_proj_weight": np.concatenate(
                [a.query_proj.weight, a.key_proj.weight, a.value_proj.weight]),
            "self_attn.in_proj_bias": np.concatenate(
                [a.query_proj.bias, a.key_proj.bias, a.value_proj.bias]),
            "self_attn.out_proj.weight": a.output_proj.weight,
            "self_attn.out_proj.bias": a.output_proj.bias,
            "linear1.weight": blk.fc1.weight, "linear1.bias": blk.fc1.bias,
            "linear2.weight": blk.fc2.weight, "linear2.bias": blk.fc2.bias,
            "norm1.weight": blk.ln1.weight, "norm1.bias": blk.ln1.bias,
            "norm2.weight": blk.ln2.weight, "norm2.bias": blk.ln2.bias,
        }
        layer.load_state_dict({k: p(v) for k, v in sd.items()})
        layer.train()  # the plain path (dropout is 0): the fused inference kernel is not needed
        with torch.no_grad():
            h = layer(h, src_mask=causal, src_key_padding_mask=pad)
    h = F.layer_norm(h, (d,), p(enc.ln_f.weight), p(enc.ln_f.bias), eps=enc.ln_f.eps)
    return h[0].numpy()


def jitter(tree, seed=0):
    """Add numpy noise to every array leaf (non-trivial LayerNorm scales/biases etc.)."""
    g = rng(seed)
    return jax.tree.map(
        lambda a: jnp.asarray(np.asarray(a) + 0.1 * g.standard_normal(a.shape), a.dtype), tree
    )


@pytest.mark.parametrize("causal", [False, True])
def test_encoder_matches_torch(causal):
    enc = jitter(encoder(causal))
    x = rng(3).standard_normal((6, 3)).astype(np.float32)
    mask = np.array([True, False, True, True, False, True])
    ours = np.asarray(call(enc, jnp.asarray(x), jnp.asarray(mask)))
    want = torch_encoder(enc, x, mask)
    np.testing.assert_allclose(ours[mask], want[mask], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ours[~mask], 0.0)


def without_positions(enc):
    return eqx.tree_at(lambda e: e.pos, enc, jnp.zeros_like(enc.pos))


def test_encoder_masked_positions_do_not_matter():
    enc = encoder()
    x = normal((6, 3))
    mask = np.array([True, False, True, True, False, True])
    base = call(enc, x, mask)
    perturbed = np.where(mask[:, None], x, 100.0 * normal((6, 3), seed=4))
    np.testing.assert_array_equal(np.asarray(call(enc, perturbed, mask)), np.asarray(base))
    # Independent of the input zeroing: without positional embeddings (so permutation-
    # equivariant) the valid outputs equal the encoder run on the valid positions alone.
    flat = without_positions(enc)
    alone = np.asarray(call(flat, x[mask]))
    np.testing.assert_allclose(np.asarray(call(flat, x, mask)[mask]), alone, rtol=1e-5,
                               atol=1e-6)
    assert not np.allclose(np.asarray(call(flat, x)[mask]), alone, atol=1e-3)


def test_encoder_permutation_equivariant_without_positions():
    enc = encoder()
    flat = without_positions(enc)
    x = normal((6, 3))
    perm = np.array([3, 0, 5, 1, 4, 2])
    np.testing.assert_allclose(
        np.asarray(call(flat, x[perm])), np.asarray(call(flat, x)[perm]), rtol=1e-5, atol=1e-6
    )
    # With learned positions the same permutation changes the outputs.
    assert not np.allclose(
        np.asarray(call(enc, x[perm])), np.asarray(call(enc, x)[perm]), atol=1e-4
    )


@pytest.mark.parametrize("causal", [True, False])
def test_encoder_causality(causal):
    """Perturb inputs from position t on, for every t: with ``causal`` outputs before t are
    unchanged and outputs from t on change; without it every output changes."""
    enc = encoder(causal)
    x = normal((6, 3))
    later = np.arange(6)[None, :, None] >= np.arange(6)[:, None, None]  # [t, pos, 1]
    full = np.asarray(call(enc, x))
    outs = np.asarray(vcall(enc, np.where(later, x + 1.0, x)))
    for t in range(6):
        moved = np.abs(outs[t] - full).max(axis=-1) > 1e-4
        np.testing.assert_array_equal(moved, np.arange(6) >= t if causal else np.ones(6, bool))
    if causal:  # and a prefix alone gives the full sequence's outputs there
        np.testing.assert_allclose(np.asarray(call(enc, x[:4])), full[:4], rtol=1e-5, atol=1e-6)


def test_transformer_cell_equals_encoder_on_last_window():
    cell = transformer_cell()
    xs = normal((10, 3), seed=5)
    final, ys = jax.jit(scan_cell)(cell, xs)  # plain jit: every leaf is an array
    last = call(cell.encoder, xs[-WINDOW:])[-1]  # the encoder on the last window, no mask
    np.testing.assert_allclose(np.asarray(ys[-1]), np.asarray(last), rtol=1e-5, atol=1e-6)
    # Every step: the last `window` inputs right-aligned, slots before the first input masked.
    valid = np.arange(WINDOW)[None, :] >= WINDOW - 1 - np.arange(10)[:, None]  # [step, slot]
    windows = np.zeros((10, WINDOW, 3), np.float32)
    for i in range(10):
        windows[i, valid[i]] = xs[max(0, i + 1 - WINDOW):i + 1]
    direct = vcall(cell.encoder, windows, valid)
    np.testing.assert_allclose(np.asarray(ys), np.asarray(direct[:, -1]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(final.inputs), xs[-WINDOW:])
    assert bool(final.valid.all())


def test_every_leaf_is_an_array():
    """Runner states hold networks as jit arguments / scan carries and are checkpointed by
    their array leaves, so no network may carry Python scalars as leaves."""
    nets = [impala(), mlp_head(), *(make() for make in CELLS.values()), encoder()]
    for net in nets:
        assert all(eqx.is_array(leaf) for leaf in jax.tree.leaves(net)), type(net).__name__


def test_transformer_rejects_bad_config():
    with pytest.raises(ValueError, match="num_heads"):
        TransformerEncoder(3, 10, 1, 3, 2, KEY, max_len=4)
    with pytest.raises(ValueError, match="window"):
        TransformerCell(3, 8, 1, 2, 0, KEY)
    with pytest.raises(ValueError, match="max_len"):
        jax.eval_shape(encoder(), jnp.zeros((8, 3)))
