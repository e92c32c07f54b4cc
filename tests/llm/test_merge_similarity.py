"""Similarity analysis: task-vector cosines, parent contributions, linear CKA."""

import json

import jax
import numpy as np
import pytest
from flax import nnx
from safetensors.numpy import save_file

import llm
from llm.merge import (
    MergeConfig,
    hidden_state_cka,
    layer_hidden_states,
    linear_cka,
    merge,
    parent_contributions,
    task_vector_cosines,
)

SHAPES = {"model.embed_tokens.weight": (7, 4), "model.layers.0.mlp.up_proj.weight": (5, 4),
          "model.layers.0.input_layernorm.weight": (4,), "model.layers.1.mlp.up_proj.weight": (5, 4),
          "model.norm.weight": (4,)}


def write(directory, tensors):
    directory.mkdir()
    save_file(tensors, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps({"model_type": "toy", "vocab_size": 7,
                                                       "tie_word_embeddings": True}))
    return directory


@pytest.fixture
def family(tmp_path):
    rng = np.random.default_rng(0)
    base = {k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}
    taus = [{k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}
            for _ in range(2)]
    dirs = [write(tmp_path / "base", base)]
    for i, tau in enumerate(taus):
        dirs.append(write(tmp_path / f"m{i}", {k: base[k] + tau[k] for k in SHAPES}))
    return dirs, base, taus


def test_task_vector_cosines_per_layer(family):
    (base, a, b), _, taus = family
    got = task_vector_cosines(base, a, b)
    groups = {"embed": ["model.embed_tokens.weight"],
              "layer.0": ["model.layers.0.mlp.up_proj.weight",
                          "model.layers.0.input_layernorm.weight"],
              "all": list(SHAPES)}
    for group, names in groups.items():
        x = np.concatenate([taus[0][n].ravel() for n in names]).astype(np.float64)
        y = np.concatenate([taus[1][n].ravel() for n in names]).astype(np.float64)
        assert got[group] == pytest.approx(x @ y / np.linalg.norm(x) / np.linalg.norm(y),
                                           rel=1e-4)
    assert set(got) == {"embed", "layer.0", "layer.1", "norm", "all"}


def test_contributions_recover_mergealign_weights(family, tmp_path):
    (base, a, b), _, _ = family
    config = MergeConfig.from_dict({"merge_method": "mergealign", "base_model": str(base),
                                    "models": [{"model": str(a), "parameters": {"weight": 0.3}},
                                               {"model": str(b), "parameters": {"weight": 0.7}}]})
    merged = merge(config, tmp_path / "merged")
    got = parent_contributions(base, [a, b], merged)
    for group in ("all", "layer.1", "embed"):
        assert got[group]["coefficients"] == pytest.approx([0.3, 0.7], abs=1e-5)
        assert got[group]["residual"] < 1e-9
    ties = MergeConfig.from_dict({"merge_method": "ties", "base_model": str(base), "models": [
        {"model": str(a), "parameters": {"weight": 1.0, "density": 0.3}},
        {"model": str(b), "parameters": {"weight": 1.0, "density": 0.3}}]})
    trimmed = parent_contributions(base, [a, b], merge(ties, tmp_path / "ties"))
    assert trimmed["all"]["residual"] > 0.05  # trimming is not a linear combination


def test_linear_cka_matches_the_hsic_form_and_its_invariances():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 5))
    y = x @ rng.normal(size=(5, 3)) + 0.5 * rng.normal(size=(30, 3))
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T

    def hsic(p, q):
        return np.trace(p @ h @ q @ h)

    assert linear_cka(x, y) == pytest.approx(hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_)))
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert linear_cka(x, 3.0 * x @ q + 2.0) == pytest.approx(1.0)
    assert 0.0 <= linear_cka(x, rng.normal(size=(30, 4))) < linear_cka(x, y) < 1.0
    with pytest.raises(ValueError, match="same n"):
        linear_cka(x, y[:10])


def test_hidden_state_cka_of_a_model_with_itself_is_one():
    config = llm.QwenConfig(vocab_size=32, hidden_size=16, intermediate_size=32,
                            num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                            max_position_embeddings=32)
    model = llm.Qwen(config, rngs=nnx.Rngs(0))
    tokens = jax.random.randint(jax.random.key(0), (3, 8), 1, 32)
    mask = np.ones((3, 8), np.int32)
    mask[0, :3] = 0
    states = layer_hidden_states(model, tokens, mask)
    # the last layer's states, normed, are what Qwen.hidden_states returns
    np.testing.assert_allclose(model.model.norm(states[-1]),
                               model.hidden_states(tokens, attention_mask=mask),
                               rtol=1e-5, atol=1e-5)
    assert hidden_state_cka(model, model, tokens, mask) == pytest.approx([1.0, 1.0])
    keep = mask.reshape(-1) == 1
    flat = [np.asarray(h).reshape(-1, 16)[keep] for h in states]
    assert 0.0 < linear_cka(flat[0], flat[1]) < 0.999  # different layers differ
