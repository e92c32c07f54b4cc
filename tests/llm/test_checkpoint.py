"""Hugging Face checkpoint directories: round trips and the errors for unusable ones."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import torch, transformers
from flax import nnx
from safetensors.numpy import load_file, save_file

import llm


def params(model):
    return {k: np.asarray(v) for k, v in llm.state_dict(model).items()}


def test_save_load_round_trip_is_exact(reference, tmp_path):
    directory, _ = reference
    model, _ = llm.load(directory)
    llm.save(model, None, tmp_path / "copy")
    again, _ = llm.load(tmp_path / "copy")
    assert again.config == model.config
    a, b = params(model), params(again)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_transformers_loads_our_checkpoint(reference, tmp_path):
    directory, hf_model = reference
    config = llm.QwenConfig.from_hf(hf_model.config.to_dict())
    ours = llm.Qwen(config, rngs=nnx.Rngs(7))  # fresh weights, not the reference's
    llm.save(ours, None, tmp_path / "ours")
    back = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "ours")).eval()
    assert type(back) is type(hf_model)
    ids = np.random.default_rng(0).integers(0, config.vocab_size, (2, 8))
    with torch.no_grad():
        ref = back(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(ids))), ref, atol=1e-4, rtol=0)


def test_sharded_checkpoint_round_trip(qwen2_dir, tmp_path):
    directory, _ = qwen2_dir
    model, _ = llm.load(directory)
    llm.save(model, None, tmp_path / "sharded", max_shard_bytes=20_000)
    files = sorted(p.name for p in (tmp_path / "sharded").glob("*.safetensors"))
    assert len(files) > 1 and (tmp_path / "sharded" / "model.safetensors.index.json").exists()
    again, _ = llm.load(tmp_path / "sharded")
    for name, value in params(model).items():
        np.testing.assert_array_equal(value, params(again)[name], err_msg=name)
    # transformers reads the same shards
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "sharded"))
    np.testing.assert_array_equal(
        hf.model.layers[1].mlp.down_proj.weight.detach().numpy(),
        params(model)["model.layers.1.mlp.down_proj.weight"])


def bpe_tokenizer(vocab_size):
    from llm.data import train_tokenizer

    texts = [f"entity {i} lives in city {i % 7} and plays the lute" for i in range(200)]
    return train_tokenizer(texts, vocab_size)


def test_tokenizer_travels_with_the_model(tmp_path):
    tokenizer = bpe_tokenizer(300)
    config = llm.QwenConfig(vocab_size=300, hidden_size=32, intermediate_size=48,
                            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)
    llm.save(llm.Qwen(config, rngs=nnx.Rngs(0)), tokenizer, tmp_path / "with_tok")
    _, tok = llm.load(tmp_path / "with_tok")
    text = "entity 12 lives in city 5"
    assert tok is not None and tok.encode(text) == tokenizer.encode(text)
    assert tok.chat_template == tokenizer.chat_template


def copy_checkpoint(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_unsupported_architecture(qwen2_dir, tmp_path):
    d = copy_checkpoint(qwen2_dir[0], tmp_path / "llama")
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(model_type="llama", architectures=["LlamaForCausalLM"])
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(llm.ConfigError, match="LlamaForCausalLM"):
        llm.load(d)


def test_missing_tensor_is_named(qwen2_dir, tmp_path):
    d = copy_checkpoint(qwen2_dir[0], tmp_path / "missing")
    tensors = load_file(d / "model.safetensors")
    del tensors["model.layers.1.self_attn.k_proj.bias"]
    save_file(tensors, d / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(llm.CheckpointError, match=r"model\.layers\.1\.self_attn\.k_proj\.bias"):
        llm.load(d)


def test_wrong_shape_is_named(qwen3_dir, tmp_path):
    d = copy_checkpoint(qwen3_dir[0], tmp_path / "shape")
    tensors = load_file(d / "model.safetensors")
    name = "model.layers.0.mlp.up_proj.weight"
    tensors[name] = tensors[name][:-1]
    save_file(tensors, d / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(llm.CheckpointError, match=r"up_proj\.weight.*\(95, 64\).*\(96, 64\)"):
        llm.load(d)


def test_tokenizer_larger_than_vocab(qwen2_dir, tmp_path):
    d = copy_checkpoint(qwen2_dir[0], tmp_path / "bigtok")
    bpe_tokenizer(300).save_pretrained(str(d))
    with pytest.raises(llm.CheckpointError, match="vocab_size=97"):
        llm.load(d)


def test_pickle_only_and_missing_dirs(tmp_path):
    d = tmp_path / "pickle"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(llm.QwenConfig().to_hf()))
    (d / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(llm.CheckpointError, match="safetensors only"):
        llm.load(d)
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        llm.load(tmp_path / "nowhere")


def test_hub_id_offline_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="Hugging Face hub"):
        llm.load("no-such-org/no-such-model-xyz")


def test_failed_save_leaves_nothing(qwen2_dir, tmp_path, monkeypatch):
    model, _ = llm.load(qwen2_dir[0])
    llm.save(model, None, tmp_path / "keep")
    before = params(llm.load(tmp_path / "keep")[0])

    class Broken:
        def __len__(self):
            return 10

        def save_pretrained(self, path):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        llm.save(llm.Qwen(model.config, rngs=nnx.Rngs(1)), Broken(), tmp_path / "keep")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
    after = params(llm.load(tmp_path / "keep")[0])
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])
    jax.clear_caches()
