"""llm.merge on checkpoint directories: exact endpoints, shards, dtypes, tied embeddings,
refusals with clear messages, the YAML command line."""

import json

import ml_dtypes
import numpy as np
import pytest
from conftest import make_reference
from safetensors import safe_open
from safetensors.numpy import save_file

import llm
from llm.merge import MergeConfig, MergeError, merge
from llm.merge.__main__ import main as cli


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge_pair")
    for i in range(2):
        make_reference("qwen2", root / f"p{i}", seed=10 + i)
    return root / "p0", root / "p1"


def read_all(directory):
    out = {}
    for f in sorted(directory.glob("*.safetensors")):
        with safe_open(f, framework="numpy") as g:
            out.update({k: g.get_tensor(k) for k in g.keys()})  # noqa: SIM118
    return out


def bits(x):
    return np.ascontiguousarray(x).view(np.uint8)


def endpoint_config(method, w, p0, p1, base):
    """A merge whose weight ``w`` = 1 gives ``p0`` and ``w`` = 0 gives ``p1``."""
    if method == "slerp":  # t = 0 is the base_model
        return {"merge_method": "slerp", "base_model": str(p1), "models": [str(p0)],
                "parameters": {"t": w}}
    if method == "task_arithmetic":  # base p1 plus w times (p0 - p1)
        return {"merge_method": method, "base_model": str(p1),
                "models": [{"model": str(p0), "parameters": {"weight": w}}]}
    return {"merge_method": method, "base_model": str(base),
            "models": [{"model": str(p0), "parameters": {"weight": w}},
                       {"model": str(p1), "parameters": {"weight": 1.0 - w}}]}


@pytest.mark.parametrize("method", ["mergealign", "linear", "task_arithmetic", "slerp"])
def test_endpoints_reproduce_parents_bit_for_bit(method, pair, tmp_path):
    p0, p1 = pair
    base = tmp_path / "base"  # differs from both parents (MergeAlign's base cancels)
    make_reference("qwen2", base, seed=3)
    for w, want in ((1.0, p0), (0.0, p1)):
        config = endpoint_config(method, w, p0, p1, base)
        if method == "linear":
            config.pop("base_model")
        got, expected = read_all(merge(MergeConfig.from_dict(config), tmp_path / f"{w}")), \
            read_all(want)
        assert sorted(got) == sorted(expected)
        for key in expected:
            np.testing.assert_array_equal(bits(got[key]), bits(expected[key]), err_msg=key)


def test_sharded_parents_and_output_match_unsharded(pair, tmp_path):
    p0, p1 = pair
    model, _ = llm.load(p0)
    sharded = llm.save(model, None, tmp_path / "sharded", max_shard_bytes=40_000)
    assert (sharded / "model.safetensors.index.json").is_file()
    config = {"merge_method": "ties", "base_model": str(p1), "models": [
        {"model": str(p0), "parameters": {"weight": 0.6, "density": 0.4}}]}
    plain = read_all(merge(MergeConfig.from_dict(config), tmp_path / "plain"))
    config["models"][0]["model"] = str(sharded)
    out = merge(MergeConfig.from_dict(config), tmp_path / "out", max_shard_bytes=30_000)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 2
    assert set(index["weight_map"]) == set(plain)
    got = read_all(out)
    for key in plain:
        np.testing.assert_array_equal(got[key], plain[key], err_msg=key)
    merged, _ = llm.load(out)  # a checkpoint our loader (and its shape checks) accepts
    assert merged.config.tie_word_embeddings


def test_output_dtype_and_half_precision_parents(pair, tmp_path):
    p0, p1 = pair
    config = {"merge_method": "linear", "models": [
        {"model": str(p0), "parameters": {"weight": 0.5}},
        {"model": str(p1), "parameters": {"weight": 0.5}}]}
    f32 = read_all(merge(MergeConfig.from_dict(config), tmp_path / "f32"))
    out = merge(MergeConfig.from_dict({**config, "dtype": "bfloat16"}), tmp_path / "bf16")
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    for key, value in read_all(out).items():
        assert value.dtype == ml_dtypes.bfloat16
        np.testing.assert_array_equal(bits(value), bits(f32[key].astype(ml_dtypes.bfloat16)))
    halves = []
    for i, p in enumerate(pair):
        model, _ = llm.load(p)
        halves.append(llm.save(model, None, tmp_path / f"half{i}", dtype=np.float16))
    config = {"merge_method": "linear", "models": [
        {"model": str(h), "parameters": {"weight": 0.5}} for h in halves]}
    got = read_all(merge(MergeConfig.from_dict(config), tmp_path / "f16"))
    a, b = read_all(halves[0]), read_all(halves[1])
    for key in got:
        assert got[key].dtype == np.float16
        want = (0.5 * a[key].astype(np.float32) + 0.5 * b[key].astype(np.float32))
        np.testing.assert_array_equal(got[key], want.astype(np.float16))


def untie(source, target, noise_seed=0):
    """A copy of a tied checkpoint with its own (perturbed) lm_head.weight."""
    target.mkdir()
    tensors = read_all(source)
    rng = np.random.default_rng(noise_seed)
    emb = tensors["model.embed_tokens.weight"]
    tensors["lm_head.weight"] = emb + rng.normal(scale=0.05, size=emb.shape).astype(emb.dtype)
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((source / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, "tie_word_embeddings": False}))
    return target, tensors


def test_tied_and_untied_parents(pair, tmp_path):
    p0, p1 = pair
    untied, tensors = untie(p1, tmp_path / "untied")
    config = {"merge_method": "linear", "models": [
        {"model": str(p0), "parameters": {"weight": 0.25}},
        {"model": str(untied), "parameters": {"weight": 0.75}}]}
    out = merge(MergeConfig.from_dict(config), tmp_path / "out")
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False
    got, tied = read_all(out), read_all(p0)
    want = (0.25 * tied["model.embed_tokens.weight"].astype(np.float64)
            + 0.75 * tensors["lm_head.weight"].astype(np.float64))
    np.testing.assert_allclose(got["lm_head.weight"], want, rtol=1e-6, atol=1e-7)
    model, _ = llm.load(out)
    assert model.lm_head is not None


@pytest.mark.parametrize("override,message", [
    ({"vocab_size": 101}, "vocab_size=97 but"),
    ({"num_hidden_layers": 3}, "'num_hidden_layers'"),
    ({"intermediate_size": 80}, "'intermediate_size'"),
])
def test_mismatched_parents_are_refused(override, message, pair, tmp_path):
    other = tmp_path / "other"
    make_reference("qwen2", other, seed=5, **override)
    config = {"merge_method": "task_arithmetic", "base_model": str(pair[0]),
              "models": [{"model": str(other), "parameters": {"weight": 1.0}}]}
    with pytest.raises(MergeError, match=message):
        merge(MergeConfig.from_dict(config), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("config,message", [
    ({"merge_method": "soup", "models": ["a"]}, "merge_method='soup'"),
    ({"merge_method": "ties", "models": [{"model": "a", "parameters": {"weight": 1}}]},
     "needs a base_model"),
    ({"merge_method": "ties", "base_model": "b", "models": ["a"]}, "parameters.weight"),
    ({"merge_method": "mergealign", "base_model": "b",
      "models": [{"model": "a", "parameters": {"weight": 0.3}},
                 {"model": "c", "parameters": {"weight": 0.3}}]}, "sum to 1"),
    ({"merge_method": "slerp", "base_model": "b", "models": ["a", "c"],
      "parameters": {"t": 0.5}}, "exactly one other"),
    ({"merge_method": "linear", "models": [{"model": "a", "parameters": {"wieght": 1}}]},
     "wieght"),
    ({"merge_method": "linear", "models": ["a"], "slices": []}, "'slices'"),
])
def test_bad_configs_name_the_field(config, message):
    with pytest.raises(MergeError, match=message):
        MergeConfig.from_dict(config)


def test_command_line_runs_a_yaml_config(pair, tmp_path, capsys):
    p0, p1 = pair
    yaml_text = (f"merge_method: dare_ties\nbase_model: {p1}\nmodels:\n"
                 f"  - model: {p0}\n    parameters: {{weight: 0.8, density: 0.5}}\n"
                 "dtype: float16\nrandom_seed: 3\n")
    (tmp_path / "merge.yaml").write_text(yaml_text)
    assert cli([str(tmp_path / "merge.yaml"), str(tmp_path / "a"), "--quiet"]) == 0
    assert cli([str(tmp_path / "merge.yaml"), str(tmp_path / "b"), "--quiet"]) == 0
    a, b = read_all(tmp_path / "a"), read_all(tmp_path / "b")
    for key in a:  # the seed fixes DARE's masks
        assert a[key].dtype == np.float16
        np.testing.assert_array_equal(a[key], b[key])
    (tmp_path / "bad.yaml").write_text(yaml_text.replace("dare_ties", "dare"))
    assert cli([str(tmp_path / "bad.yaml"), str(tmp_path / "c")]) == 2
    assert "merge_method='dare'" in capsys.readouterr().err
