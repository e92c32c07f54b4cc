"""fused_linear: one product for several layers gives each layer's own output and gradients
(plain, biased, LoRA-wrapped, low precision), and layers that would compute differently fall back
to separate calls."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from llm.fused_linear import fusable, fused_linear
from llm.lora import LoRALinear

X = jax.random.normal(jax.random.key(7), (2, 5, 12))


def linears(*specs, dtype=None, param_dtype=jnp.float32):
    rngs = nnx.Rngs(0)
    layers = [nnx.Linear(12, n, use_bias=bias, dtype=dtype, param_dtype=param_dtype, rngs=rngs,
                         bias_init=nnx.initializers.normal(0.5)) for n, bias in specs]
    return layers


def separate(x, layers):
    return [layer(x) for layer in layers]


@pytest.mark.parametrize("specs", [[(8, False), (4, False)], [(8, True), (4, True), (4, True)],
                                   [(8, True), (3, False)]])
def test_fused_matches_separate_layers(specs):
    layers = linears(*specs)
    assert fusable(layers)
    fused, ref = fused_linear(X, layers), separate(X, layers)
    assert [f.shape for f in fused] == [r.shape for r in ref] == [(2, 5, n) for n, _ in specs]
    for f, r in zip(fused, ref):
        np.testing.assert_allclose(f, r, rtol=1e-6, atol=1e-6)


def test_fused_gradients_match_separate_layers():
    layers = linears((8, True), (4, False))
    graphdef, params = nnx.split(layers)
    probe = [jax.random.normal(jax.random.key(i), (2, 5, n)) for i, n in enumerate((8, 4))]

    def loss(params, x, apply):
        outs = apply(x, nnx.merge(graphdef, params))
        return sum(jnp.sum(o * p) for o, p in zip(outs, probe))

    g_fused = jax.grad(loss, (0, 1))(params, X, fused_linear)
    g_ref = jax.grad(loss, (0, 1))(params, X, separate)
    for a, b in zip(jax.tree.leaves(g_fused), jax.tree.leaves(g_ref)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_lora_adapters_are_added_per_layer():
    rngs = nnx.Rngs(1)
    base = linears((8, True), (4, True), (4, True))
    layers = [LoRALinear(base[0], r=2, lora_alpha=4, rngs=rngs), base[1],
              LoRALinear(base[2], r=2, lora_alpha=4, rngs=rngs)]
    for layer in (layers[0], layers[2]):  # a trained adapter: B != 0
        layer.lora_b[...] = jax.random.normal(rngs.params(), layer.lora_b.shape)
    layers[2].disabled = True
    assert fusable(layers)
    for f, r in zip(fused_linear(X, layers), separate(X, layers)):
        np.testing.assert_allclose(f, r, rtol=1e-5, atol=1e-5)
    unadapted = base[0](X)
    assert float(jnp.max(jnp.abs(fused_linear(X, layers)[0] - unadapted))) > 1e-2


def test_bfloat16_computation_matches():
    layers = linears((8, False), (4, False), dtype=jnp.bfloat16)
    assert fusable(layers)
    for f, r in zip(fused_linear(X, layers), separate(X, layers)):
        assert f.dtype == r.dtype == jnp.bfloat16
        np.testing.assert_allclose(f.astype(np.float32), r.astype(np.float32), rtol=2e-2,
                                   atol=2e-2)


def test_layers_that_compute_differently_are_called_separately():
    mixed = linears((8, False)) + linears((4, False), dtype=jnp.bfloat16)
    assert not fusable(mixed)
    assert not fusable(linears((8, False)))  # nothing to fuse
    other_width = linears((8, False)) + [nnx.Linear(6, 4, rngs=nnx.Rngs(0))]
    assert not fusable(other_width)

    class Scaled(nnx.Linear):
        def __call__(self, x):
            return 2.0 * super().__call__(x)

    custom = linears((8, False)) + [Scaled(12, 4, rngs=nnx.Rngs(0))]
    assert not fusable(custom)
    for f, r in zip(fused_linear(X, custom), separate(X, custom)):
        np.testing.assert_array_equal(f, r)
