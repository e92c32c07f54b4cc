"""``jaxrl.linalg``: solve/inv/qr equal ``jnp.linalg``'s values and derivatives, alone and under
(nested) ``vmap``; the compiled batched program holds only unbatched LAPACK calls; and a program
of concurrent batched solves, which hangs XLA's CPU runtime with ``jnp.linalg.solve``, finishes."""

from __future__ import annotations

import re
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import linalg


def _system(key, n=5, k=None):
    ka, kb = jax.random.split(key)
    a = jax.random.normal(ka, (n, n)) + n * jnp.eye(n)
    b = jax.random.normal(kb, (n,) if k is None else (n, k))
    return a, b


@pytest.mark.parametrize("k", [None, 3])
def test_solve_and_inv_equal_jnp(k):
    a, b = _system(jax.random.key(0), k=k)
    np.testing.assert_allclose(linalg.solve(a, b), jnp.linalg.solve(a, b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(linalg.inv(a), jnp.linalg.inv(a), rtol=1e-5, atol=1e-6)
    q, r = linalg.qr(a)
    q_ref, r_ref = jnp.linalg.qr(a)
    np.testing.assert_allclose(q, q_ref, atol=1e-6)
    np.testing.assert_allclose(r, r_ref, atol=1e-5)


def test_derivatives_equal_jnp_to_second_order():
    a, b = _system(jax.random.key(1))

    def loss(solver):
        return lambda a, b: jnp.sum(jnp.sin(solver(a, b))) + jnp.sum(solver(a, b) ** 2)

    ours, ref = loss(linalg.solve), loss(jnp.linalg.solve)
    for argnum in (0, 1):
        for transform in (jax.grad, jax.jacfwd):
            np.testing.assert_allclose(transform(ours, argnum)(a, b),
                                       transform(ref, argnum)(a, b), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(jax.hessian(ours, 1)(a, b), jax.hessian(ref, 1)(a, b),
                               rtol=1e-4, atol=1e-5)
    g_ours = jax.grad(lambda a: jnp.sum(jax.grad(ours, 1)(a, b) ** 2))(a)  # reverse over reverse
    g_ref = jax.grad(lambda a: jnp.sum(jax.grad(ref, 1)(a, b) ** 2))(a)
    np.testing.assert_allclose(g_ours, g_ref, rtol=1e-4, atol=1e-5)


def test_vmapped_nested_and_differentiated_equal_jnp():
    keys = jax.random.split(jax.random.key(2), 6).reshape(2, 3)
    a, b = jax.vmap(jax.vmap(_system))(keys)
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.vmap(linalg.solve)))(a, b),
                               jnp.linalg.solve(a, b[..., None])[..., 0], rtol=1e-5, atol=1e-6)
    a0 = a[0, 0]  # one matrix, a batch of right-hand sides, and the reverse
    np.testing.assert_allclose(jax.vmap(linalg.solve, (None, 0))(a0, b[0]),
                               jax.vmap(jnp.linalg.solve, (None, 0))(a0, b[0]), rtol=1e-5)
    np.testing.assert_allclose(jax.vmap(linalg.solve, (0, None))(a[0], b[0, 0]),
                               jax.vmap(jnp.linalg.solve, (0, None))(a[0], b[0, 0]), rtol=1e-5)
    grads = jax.jit(jax.vmap(jax.grad(lambda a, b: jnp.sum(linalg.inv(a) @ b))))(a[0], b[0])
    ref = jax.vmap(jax.grad(lambda a, b: jnp.sum(jnp.linalg.inv(a) @ b)))(a[0], b[0])
    np.testing.assert_allclose(grads, ref, rtol=1e-4, atol=1e-5)


def _lapack_operand_ranks(fn, *args) -> dict[str, list[int]]:
    text = jax.jit(fn).lower(*args).compile().as_text()
    ranks: dict[str, list[int]] = {}
    for line in text.splitlines():
        target = re.search(r'custom_call_target="(lapack_\w+)"', line)
        if target:
            operand = re.search(r"operand_layout_constraints=\{\w+\[([\d,]*)\]", line)
            ranks.setdefault(target.group(1), []).append(operand.group(1).count(",") + 1)
    return ranks


def test_batched_program_has_only_unbatched_lapack_calls():
    a, b = jax.vmap(_system)(jax.random.split(jax.random.key(3), 4))
    ours = _lapack_operand_ranks(jax.vmap(lambda a, b: (linalg.solve(a, b), linalg.qr(a))), a, b)
    ref = _lapack_operand_ranks(jax.vmap(lambda a, b: (jnp.linalg.solve(a, b),
                                                       jnp.linalg.qr(a))), a, b)
    assert max(max(r) for r in ref.values()) == 3  # jnp hands LAPACK the batch
    assert ours and all(r == 2 for rs in ours.values() for r in rs), ours


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="square"):
        linalg.solve(jnp.ones((3, 4)), jnp.ones(3))
    with pytest.raises(ValueError, match="right-hand side"):
        linalg.solve(jnp.ones((3, 3)), jnp.ones(4))


SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp
    from jaxrl import linalg
    def f(key):
        outs = []
        for k in jax.random.split(key, 4):
            a = jax.random.normal(k, (384, 384)) + 20 * jnp.eye(384)
            outs.append(linalg.solve(a, jnp.ones(384)))
        return outs
    jax.block_until_ready(jax.jit(jax.vmap(f))(jax.random.split(jax.random.key(0), 4)))
    print("finished")
""")


def test_concurrent_batched_solves_finish(finishes_on_cpu):
    # XLA's default CPU scheduler runs the four solves at once: with jnp.linalg.solve this
    # program hung in 2 of 3 runs on a 2-core machine.
    finishes_on_cpu(SCRIPT, 120, "four concurrent batched 384 x 384 solves")


@pytest.mark.parametrize("platform", ["cuda", "tpu"])
def test_accelerators_keep_the_batched_kernels(platform):
    # The one-at-a-time loop exists for the CPU runtime; on a GPU or TPU it would be a kernel
    # launch per matrix, so their programs keep the batch in one call (no loop).
    a, b = jax.vmap(_system)(jax.random.split(jax.random.key(4), 4))

    def loops(lowering_platform):
        fn = jax.jit(jax.vmap(lambda a, b: (linalg.solve(a, b), linalg.qr(a))))
        text = fn.trace(a, b).lower(lowering_platforms=(lowering_platform,)).as_text()
        return text.count("stablehlo.while")

    assert loops("cpu") >= 2
    assert loops(platform) == 0
