"""A merge's peak memory is a few tensors, not whole models (Python-heap allocations, measured
with tracemalloc, which sees numpy buffers and the bytes safetensors reads into)."""

import json
import tracemalloc

import numpy as np
from safetensors.numpy import save_file

from llm.merge import MergeConfig, merge

LAYERS, WIDTH = 24, 128  # 24 * 2 tensors of 64 KiB: 3 MiB per model, in 6 shards


def write_sharded(directory, seed):
    directory.mkdir()
    rng = np.random.default_rng(seed)
    names = [f"model.layers.{i}.mlp.{p}.weight" for i in range(LAYERS) for p in ("up", "down")]
    shards, weight_map = 6, {}
    per = len(names) // shards
    for s in range(shards):
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        chunk = {n: rng.normal(size=(WIDTH, WIDTH)).astype(np.float32)
                 for n in names[s * per:(s + 1) * per]}
        save_file(chunk, str(directory / fname))
        weight_map.update(dict.fromkeys(chunk, fname))
    (directory / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    (directory / "config.json").write_text(json.dumps(
        {"model_type": "toy", "vocab_size": 8, "hidden_size": WIDTH, "num_hidden_layers": LAYERS}))
    return directory


def test_peak_memory_is_a_few_tensors(tmp_path):
    base, a, b = (write_sharded(tmp_path / n, s) for s, n in enumerate(("base", "a", "b")))
    config = MergeConfig.from_dict({
        "merge_method": "ties", "base_model": str(base), "models": [
            {"model": str(a), "parameters": {"weight": 0.6, "density": 0.5}},
            {"model": str(b), "parameters": {"weight": 0.4, "density": 0.5}}]})
    tensor_bytes = WIDTH * WIDTH * 4
    model_bytes = 2 * LAYERS * tensor_bytes
    tracemalloc.start()
    try:
        merge(config, tmp_path / "out", max_shard_bytes=model_bytes // 4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak {peak / 2**20:.2f} MiB; tensor {tensor_bytes / 2**20:.3f} MiB; "
          f"model {model_bytes / 2**20:.1f} MiB; three parents {3 * model_bytes / 2**20:.1f} MiB")
    # TIES holds 3 parent tensors, 2 task vectors, masks, argpartition indices (int64, 2x),
    # sums: about a dozen tensors. Loading even one whole model would be 48 tensors.
    assert peak < 16 * tensor_bytes
    assert (tmp_path / "out" / "model.safetensors.index.json").is_file()
