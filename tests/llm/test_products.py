"""llm.products: the hand-written VJPs give the plain products' values and gradients, for
batched inputs, float32 and bfloat16, and under jit and vmap; fused_linear takes the product
for a layer wider out than in and its gradients still match separate layers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from llm.fused_linear import fused_linear
from llm.products import linear_product, lora_product, tied_head_product

KEYS = jax.random.split(jax.random.key(3), 6)


def plain_linear(x, w):
    return x @ w


def plain_lora(x, a, b, scaling):
    return ((x @ a) @ b) * scaling


def value_and_grads(fn, args, probe):
    def loss(*args):
        return jnp.sum(fn(*args).astype(jnp.float32) * probe)
    return jax.jit(jax.value_and_grad(loss, argnums=tuple(range(len(args)))))(*args)


def assert_close(got, want, tol):
    """Equal up to ``tol`` relative to each array's largest entry (bfloat16 rounds the two
    association orders differently)."""
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert g.shape == w.shape and g.dtype == w.dtype
        w = np.asarray(w, np.float32)
        np.testing.assert_allclose(np.asarray(g, np.float32), w, rtol=0,
                                   atol=tol * max(1.0, float(np.max(np.abs(w)))))


# name -> (the product, its plain reference, shapes of the operands after x, output width)
CASES = {
    "linear": (linear_product, plain_linear, [(1, (6, 10))], 10),
    "lora": (lambda x, a, b: lora_product(x, a, b, 2.5),
             lambda x, a, b: plain_lora(x, a, b, 2.5), [(3, (6, 2)), (4, (2, 10))], 10),
    "tied": (tied_head_product, lambda h, e: h @ e.T, [(5, (11, 6))], 11),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype,tol", [(jnp.float32, 1e-5), (jnp.bfloat16, 3e-2)])
@pytest.mark.parametrize("lead", [(7,), (2, 5)])
def test_product_matches_autodiff(name, dtype, tol, lead):
    fn, ref, operands, width = CASES[name]
    args = (jax.random.normal(KEYS[0], (*lead, 6), dtype),
            *(jax.random.normal(KEYS[k], shape, dtype) for k, shape in operands))
    probe = jax.random.normal(KEYS[2], (*lead, width))
    assert_close(value_and_grads(fn, args, probe), value_and_grads(ref, args, probe), tol)


def test_products_under_vmap():
    x = jax.random.normal(KEYS[0], (3, 4, 6))
    w = jax.random.normal(KEYS[1], (6, 10))
    a, b = jax.random.normal(KEYS[3], (6, 2)), jax.random.normal(KEYS[4], (2, 10))

    def loss(fn_linear, fn_lora):
        def per_row(x):
            return jnp.sum(jnp.tanh(fn_linear(x, w) + fn_lora(x, a, b, 0.5)))
        return jax.grad(lambda w, a, b: jnp.sum(jax.vmap(per_row)(x)), argnums=(0, 1, 2))

    got = jax.jit(loss(linear_product, lora_product))(w, a, b)
    want = jax.jit(loss(plain_linear, plain_lora))(w, a, b)
    assert_close(got, want, 1e-5)


def test_fused_linear_wider_out_than_in_matches_separate_layers():
    rngs = nnx.Rngs(0)
    layers = [nnx.Linear(6, n, use_bias=bias, rngs=rngs, bias_init=nnx.initializers.normal(0.5))
              for n, bias in ((8, True), (4, False))]  # 12 outputs > 6 inputs: linear_product
    graphdef, params = nnx.split(layers)
    x = jax.random.normal(KEYS[0], (2, 5, 6))
    probe = [jax.random.normal(KEYS[i], (2, 5, n)) for i, n in ((1, 8), (2, 4))]

    def loss(params, x, apply):
        outs = apply(x, nnx.merge(graphdef, params))
        return sum(jnp.sum(jnp.sin(o) * p) for o, p in zip(outs, probe))

    separate = lambda x, layers: [layer(x) for layer in layers]  # noqa: E731
    got = jax.jit(jax.grad(loss, (0, 1)), static_argnums=2)(params, x, fused_linear)
    want = jax.jit(jax.grad(loss, (0, 1)), static_argnums=2)(params, x, separate)
    assert_close(got, want, 1e-5)


def test_other_backends_run_the_plain_products(monkeypatch):
    import llm.products as products

    x = jax.random.normal(KEYS[0], (2, 5, 6))
    w = jax.random.normal(KEYS[1], (6, 10))
    a, b = jax.random.normal(KEYS[3], (6, 2)), jax.random.normal(KEYS[4], (2, 10))
    calls = {
        "linear": (lambda x, w: linear_product(x, w), (x, w)),
        "lora": (lambda x, a, b: lora_product(x, a, b, 2.0), (x, a, b)),
        "tied": (lambda h, e: tied_head_product(h, e), (x, jax.random.normal(KEYS[5], (11, 6)))),
    }
    def jaxpr(fn, args):  # a fresh function each time: jax caches traces per function
        return str(jax.make_jaxpr(lambda *args: fn(*args))(*args))

    for name, (fn, args) in calls.items():
        assert "custom_vjp" in jaxpr(fn, args), name  # on CPU: the written VJP
        monkeypatch.setattr(products, "_on_cpu", lambda: False)
        assert "custom_vjp" not in jaxpr(fn, args), name
        monkeypatch.undo()
