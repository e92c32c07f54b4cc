"""``jaxrl.networks.Dense``: the affine map of ``eqx.nn.Linear`` with the kernel stored
``[in, out]``; ``linear()`` draws the same orthogonal values as before, transposed."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.networks import Dense, linear, orthogonal


def test_equals_equinox_linear_in_values_and_gradients():
    ref = eqx.nn.Linear(5, 3, key=jax.random.key(0))
    dense = Dense.from_linear(ref)
    x = jax.random.normal(jax.random.key(1), (7, 5))
    np.testing.assert_allclose(dense(x), jax.vmap(ref)(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dense(x[0]), ref(x[0]), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(dense.weight, ref.weight)

    def loss(layer):
        return jnp.sum(jnp.tanh(jax.vmap(layer)(x)) ** 2)

    g_dense, g_ref = jax.grad(loss)(dense), jax.grad(loss)(ref)
    np.testing.assert_allclose(g_dense.kernel, g_ref.weight.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_dense.bias, g_ref.bias, rtol=1e-5, atol=1e-6)


def test_linear_draws_the_orthogonal_values_of_the_equinox_layer():
    key = jax.random.key(3)
    _, k2 = jax.random.split(key)  # what linear() drew before Dense: Linear's init, overwritten
    ref = eqx.nn.Linear(6, 4, key=jax.random.key(9))
    ref = eqx.tree_at(lambda m: (m.weight, m.bias), ref,
                      (orthogonal(1.3)(k2, (4, 6)), jnp.zeros(4)))
    layer = linear(6, 4, key, 1.3)
    assert layer.kernel.shape == (6, 4) and (layer.in_features, layer.out_features) == (6, 4)
    np.testing.assert_array_equal(layer.weight, ref.weight)
    np.testing.assert_array_equal(layer.bias, 0.0)


def test_no_bias_and_shapes_under_eval_shape():
    layer = Dense(jnp.ones((2, 3)))
    np.testing.assert_array_equal(layer(jnp.ones(2)), [2.0, 2.0, 2.0])
    abstract = eqx.filter_eval_shape(linear, 8, 5, jax.random.key(0))
    assert abstract.weight.shape == (5, 8)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"kernel of shape \[in, out\]"):
        Dense(jnp.ones(3))
    with pytest.raises(ValueError, match=r"bias of shape \(4,\)"):
        Dense(jnp.ones((3, 4)), jnp.ones(3))
