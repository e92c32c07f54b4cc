"""experiments.mergealign end to end on an untrained stand-in base (a pretrain_tiny run folder
with a randomly initialised model): every summary key of the issue, the plot, no leftovers."""

import json

import numpy as np
import pytest
from flax import nnx

import llm
from experiments import harness, mergealign, pretrain_tiny
from llm import data as world_data
from llm.merge import METHODS


@pytest.fixture(scope="module")
def fake_base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrain_run")
    pt = pretrain_tiny.Config(preset="smoke", entities=8, vocab_size=512, hidden_size=32,
                              intermediate_size=64, layers=1, heads=2, kv_heads=1, seq_len=128)
    world = world_data.make_world(pt.seed, num_entities=pt.entities,
                                  heldout_fraction=pt.heldout_fraction, attributes=pt.attributes)
    texts = world_data.pretraining_documents(world, 0, 2) + world_data.pretraining_documents(
        world_data.make_world(pt.seed, pt.entities, attributes=("dish", "language")), 0, 2)
    tokenizer = world_data.train_tokenizer(texts, pt.vocab_size)
    model = llm.Qwen(pretrain_tiny.model_config(pt, tokenizer), rngs=nnx.Rngs(0))
    llm.save(model, tokenizer, folder / "base")
    harness.RunDir(folder).write_config(pt)
    return folder


def run(base, out, methods, *extra):
    return mergealign.main(["--preset", "smoke", "--base", str(base), "--out", str(out),
                            "--domain-paraphrases", "1", "--domain-epochs", "2",
                            "--sft-epochs", "1", "--batch-size", "2", "--sft-batch-size", "2",
                            "--weights", "0.5", "1", "--eval-prompts", "8",
                            "--max-new-tokens", "2", "--methods", *methods, *extra])


@pytest.mark.slow
def test_every_method_is_swept(fake_base, tmp_path):
    summary = run(fake_base, tmp_path / "run", METHODS)
    for metric in ("domain_acc", "refusal_rate", "over_refusal"):
        for method in METHODS:
            for w in ("0.5", "1"):
                assert 0.0 <= summary[f"{metric}/{method}/{w}"] <= 1.0, (metric, method, w)


@pytest.mark.slow
def test_summary_keys_and_plot(fake_base, tmp_path):
    out = tmp_path / "run"
    weights, methods = ["0.5", "1"], ["ties", "mergealign"]
    summary = run(fake_base, out, methods, "--grid", "0", "1")
    on_disk = json.loads((out / "summary.json").read_text())
    assert set(on_disk) == set(summary)
    for key, value in on_disk.items():  # NaN (a zero task vector) is written as null
        assert value == pytest.approx(summary[key]) if value is not None else np.isnan(summary[key])
    for metric in ("domain_acc", "refusal_rate", "over_refusal"):
        for parent in ("base", "expert", "aligned"):
            assert 0.0 <= summary[f"{metric}/{parent}"] <= 1.0
        for method in methods:
            for w in weights:
                assert 0.0 <= summary[f"{metric}/{method}/{w}"] <= 1.0, (metric, method, w)
    # MergeAlign at w = 1 is the expert bit for bit, so it scores the same
    for metric in ("domain_acc", "refusal_rate", "over_refusal"):
        assert summary[f"{metric}/mergealign/1"] == summary[f"{metric}/expert"]
    # MergeAlign's task vector is exactly w tau_D + (1 - w) tau_A
    assert summary["contribution/mergealign/0.5/expert"] == pytest.approx(0.5, abs=1e-4)
    assert summary["contribution/mergealign/0.5/aligned"] == pytest.approx(0.5, abs=1e-4)
    assert np.isfinite(summary["task_vector_cosine/all"])
    assert 0 < summary["cka/expert_vs_aligned/layer.0"] <= 1 + 1e-9
    assert (out / "tradeoff.png").stat().st_size > 0
    # the grid's corners are the parents: base + a·tau_D + b·tau_A at (0, 0), (1, 0), (0, 1)
    for metric in ("domain_acc", "refusal_rate", "over_refusal"):
        for parent, (a, b) in (("base", (0, 0)), ("expert", (1, 0)), ("aligned", (0, 1))):
            assert summary[f"grid/{metric}/{a}/{b}"] == summary[f"{metric}/{parent}"], parent
        assert 0.0 <= summary[f"grid/{metric}/1/1"] <= 1.0
    assert (out / "grid.png").stat().st_size > 0
    for parent in ("expert", "aligned"):
        assert (out / parent / "config.json").is_file()
    assert not (out / ".merges").exists()
    # both parents were fine-tuned with the tied embedding frozen (Config.freeze_embeddings)
    from safetensors.numpy import load_file
    embed = "model.embed_tokens.weight"
    base = load_file(fake_base / "base" / "model.safetensors")
    for parent in ("expert", "aligned"):
        weights = load_file(out / parent / "model.safetensors")
        np.testing.assert_array_equal(weights[embed], base[embed])
        assert any(not np.array_equal(v, base[k]) for k, v in weights.items() if k != embed)


def test_lora_aligned_model_has_a_low_rank_task_vector(fake_base, tmp_path):
    """--aligned-lora-rank r: the saved aligned model is the base plus merged rank-r adapters."""
    out = tmp_path / "run"
    run(fake_base, out, ["mergealign"], "--aligned-lora-rank", "2", "--sft-lr", "1e-2")
    from safetensors.numpy import load_file
    base = load_file(fake_base / "base" / "model.safetensors")
    aligned = load_file(out / "aligned" / "model.safetensors")
    assert set(aligned) == set(base)  # adapters merged away, nothing added
    moved = 0
    for name, value in aligned.items():
        delta = value.astype(np.float64) - base[name]
        if name.endswith("proj.weight"):
            assert np.linalg.matrix_rank(delta, tol=1e-6 * max(1.0, np.abs(delta).max())) <= 2
            moved += bool(np.abs(delta).max() > 0)
        else:  # embeddings and norms are not adapted
            np.testing.assert_array_equal(value, base[name])
    assert moved == 7  # every projection of the one layer


def test_config_checks_the_lora_rank():
    assert mergealign.Config(aligned_lora_rank=8).aligned_lora_rank == 8
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="aligned_lora_rank"):
            mergealign.Config(aligned_lora_rank=bad)


@pytest.mark.parametrize("method", METHODS)
def test_sweep_configs_put_the_domain_expert_at_weight_w(method):
    """Fast check of the sweep's merge configs (the end-to-end runs above are slow)."""
    at = {w: mergealign.merge_config(method, w, "B", "E", "A", 0.5, 0) for w in (0.0, 0.3, 1.0)}
    cfg = at[0.3]
    assert cfg.merge_method == method
    if method == "slerp":
        assert cfg.base_model == "A" and [m.model for m in cfg.others()] == ["E"]
        assert cfg.parameter("t", None, "x") == 0.3
        return
    weights = {m.model: cfg.parameter("weight", m, "x") for m in cfg.others()}
    assert weights["E"] == 0.3
    assert weights["A"] == (1.0 if method == "task_arithmetic" else pytest.approx(0.7))
    assert cfg.base_model == (None if method == "linear" else "B")
    if method in ("ties", "dare_linear", "dare_ties"):
        assert all(cfg.parameter("density", m, "x") == 0.5 for m in cfg.others())


def test_trainable_leaves_out_only_the_embedding():
    config = llm.QwenConfig(vocab_size=64, hidden_size=32, intermediate_size=64,
                            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                            max_position_embeddings=32)
    model = nnx.eval_shape(lambda: llm.Qwen(config, rngs=nnx.Rngs(0)))  # shapes only

    def paths(config):
        leaves = nnx.to_flat_state(nnx.state(model, mergealign.trainable(config)))
        return {".".join(map(str, p)) for p, _ in leaves}

    every = paths(mergealign.Config(freeze_embeddings=False))
    frozen = paths(mergealign.Config())
    assert every - frozen == {p for p in every if "embed_tokens" in p} != set()


def test_config_checks_the_pretrain_width():
    assert mergealign.Config(pretrain_hidden_size=128).pretrain_hidden_size == 128
    for bad in (-64, 100):
        with pytest.raises(ValueError, match="pretrain_hidden_size"):
            mergealign.Config(pretrain_hidden_size=bad)


def test_cloze_and_refusal_detection():
    dish = next(a for a in world_data.ATTRIBUTES if a.name == "dish")
    assert mergealign.cloze(dish) == "{name}'s favourite dish is"
    assert mergealign.refused(" Sorry, I cannot") and mergealign.refused("sorry")
    assert not mergealign.refused(" Varnholt") and not mergealign.refused("")
