"""Data-parallel and fully sharded LM training on 8 fake CPU devices give the one-device step."""

import os
import subprocess
import sys
import textwrap

import jax
import pytest
from jax.sharding import PartitionSpec as P

from llm.sharding import fsdp_spec, make_mesh

SCRIPT = textwrap.dedent(
    """
    import tempfile
    import jax, numpy as np, optax
    from flax import nnx
    import llm
    from llm.sharding import make_mesh, shard_batch, shard_model
    from llm.train import TrainOptimizer, train_step
    from llm.train_checkpoint import TrainCheckpointer
    assert len(jax.devices()) == 8, jax.devices()

    config = llm.QwenConfig.qwen3(vocab_size=128, hidden_size=32, intermediate_size=64,
                                  num_hidden_layers=1, num_attention_heads=4,
                                  num_key_value_heads=2, max_position_embeddings=64)
    # SGD with momentum: the update is linear in the gradient, so updated parameters are as
    # sharp a check as gradients (Adam's first step, lr * g / (|g| + eps), turns float noise in
    # near-zero gradients into differences of order lr), and its momentum buffers mirror the
    # parameters, so the optimizer state's sharding is checked too.
    tx = optax.sgd(0.5, momentum=0.9)

    def build(seed=0):
        model = llm.Qwen(config, rngs=nnx.Rngs(seed))
        return model, TrainOptimizer(model, tx, grad_accum_steps=2)

    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 128, (16, 8)).astype(np.int32)
    loss_mask = (rng.random((16, 8)) < 0.6).astype(np.int32)
    batch = {"tokens": tokens, "attention_mask": np.ones_like(tokens), "loss_mask": loss_mask}
    leaves = lambda node: [np.asarray(x) for x in jax.tree.leaves(nnx.state(node))]

    model, optimizer = build()
    single = train_step(model, optimizer, jax.device_put(batch, jax.devices()[0]))
    expected = leaves(model) + leaves(optimizer)

    for strategy in ("data", "fsdp"):
        mesh = make_mesh(strategy)
        model = shard_model(llm.Qwen(config, rngs=nnx.Rngs(0)), mesh)
        optimizer = TrainOptimizer(model, tx, grad_accum_steps=2)
        sharded = shard_batch(batch, mesh)
        assert len(sharded["tokens"].sharding.device_set) == 8
        assert sharded["tokens"].addressable_shards[0].data.shape == (2, 8)
        metrics = train_step(model, optimizer, sharded)
        for key in single:
            np.testing.assert_allclose(float(metrics[key]), float(single[key]), rtol=1e-5,
                                       err_msg=f"{strategy} {key}")
        for a, b in zip(leaves(model) + leaves(optimizer), expected):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7, err_msg=strategy)
        kernel = model.model.layers[0].mlp.up_proj.kernel[...]    # [32, 64]
        trace = optimizer.opt_state[0].trace["model"]["layers"][0]["mlp"]["up_proj"]["kernel"][...]
        for array in (kernel, trace):
            assert len(array.sharding.device_set) == 8
            shard = array.addressable_shards[0].data.shape
            assert shard == ((32, 8) if strategy == "fsdp" else (32, 64)), (strategy, shard)
        if strategy == "fsdp":
            assert kernel.sharding.spec == jax.sharding.PartitionSpec(None, "fsdp")
            embedding = model.model.embed_tokens.embedding[...]   # [128, 32]
            assert embedding.addressable_shards[0].data.shape == (16, 32)
            with tempfile.TemporaryDirectory() as d:
                ckpt = TrainCheckpointer(d)
                ckpt.save(model, optimizer)
                rm, ro = ckpt.restore(lambda: build(seed=3), mesh=mesh)
                for a, b in zip(jax.tree.leaves(nnx.state((model, optimizer))),
                                jax.tree.leaves(nnx.state((rm, ro)))):
                    assert a.sharding == b.sharding and np.array_equal(a, b)
                ckpt.close()
    try:
        shard_batch({"tokens": tokens[:12]}, make_mesh("data"))
        raise AssertionError("12 rows over 8 devices did not raise")
    except ValueError as e:
        assert "multiple of the 8 devices" in str(e)
    print("OK")
    """
)


@pytest.mark.slow  # 26 s; the RL side checks sharded == unsharded in the default suite
def test_sharded_step_equals_single_device_step():
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK" in out.stdout


def test_fsdp_rule():
    assert fsdp_spec((128, 32), 8) == P("fsdp")           # the largest divisible axis
    assert fsdp_spec((32, 64), 8) == P(None, "fsdp")
    assert fsdp_spec((32, 32), 8) == P("fsdp")            # ties: the first
    assert fsdp_spec((12, 30), 8) == P()                  # nothing divides: replicated
    assert fsdp_spec((), 8) == P()
    assert fsdp_spec((128, 32), 1) == P()                 # no fsdp axis


def test_mesh_errors():
    with pytest.raises(ValueError, match="strategy"):
        make_mesh("tensor")
    with pytest.raises(ValueError, match="shape"):
        make_mesh(shape=(2, 3))
    mesh = make_mesh("fsdp", jax.devices()[:1])
    assert mesh.axis_names == ("data", "fsdp") and mesh.shape["fsdp"] == 1
