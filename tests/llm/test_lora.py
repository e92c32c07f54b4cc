"""LoRA: identity at initialisation, merge/unmerge, parity with peft in both directions, peft's
target-module matching, adapter-only training, dropout, and the documented errors."""

import copy
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import llm
from llm.lora import (
    LoraConfig,
    LoRALinear,
    apply_lora,
    lora_layers,
    merge_lora,
    merged_model,
    remove_lora,
    unmerge_lora,
)
from llm.peft_io import load_adapter, save_adapter

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
TOKENS = np.random.default_rng(0).integers(1, 97, (2, 9))


def load(directory):
    model, _ = llm.load(directory)
    return model


def logits(model, tokens=TOKENS):
    return np.asarray(model(jnp.asarray(tokens, jnp.int32)))


def torch_logits(model, tokens=TOKENS):
    with torch.no_grad():
        return model(torch.as_tensor(tokens)).logits.numpy()


def randomize_b(model, seed=0, scale=0.1):
    rng = np.random.default_rng(seed)
    for layer in lora_layers(model).values():
        layer.lora_b[...] = jnp.asarray(rng.normal(0, scale, layer.lora_b.shape), jnp.float32)


def peft_paths(peft_model):
    """Module paths (HF names, without peft's prefix) that peft gave a LoRA layer."""
    return {name for name, m in peft_model.base_model.model.named_modules()
            if isinstance(m, peft.tuners.lora.LoraLayer)}


def test_zero_b_is_bit_identical(reference):
    directory, _ = reference
    model = load(directory)
    base = logits(model)
    paths = apply_lora(model, LoraConfig(r=4, target_modules=PROJECTIONS + ["lm_head"]),
                       rngs=nnx.Rngs(0))
    untied = not model.config.tie_word_embeddings
    assert len(paths) == 7 * model.config.num_hidden_layers + untied
    assert ("lm_head" in paths) == untied
    layer = lora_layers(model)["model.layers.0.self_attn.q_proj"]
    bound = 1 / np.sqrt(model.config.hidden_size)  # peft/torch kaiming-uniform(a=sqrt(5))
    assert 0.5 * bound < np.abs(layer.lora_a[...]).max() <= bound
    assert np.array_equal(logits(model), base)


def test_merge_unmerge_and_export(reference, tmp_path):
    directory, _ = reference
    model = load(directory)
    base = logits(model)
    apply_lora(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"),
               rngs=nnx.Rngs(0))
    randomize_b(model)
    kernels = {p: np.array(m.base.kernel[...]) for p, m in lora_layers(model).items()}
    unmerged = logits(model)
    assert np.abs(unmerged - base).max() > 1e-2

    merge_lora(model)
    merge_lora(model)  # idempotent: the adapter is folded in once
    np.testing.assert_allclose(logits(model), unmerged, atol=1e-5, rtol=0)
    changed = lora_layers(model)["model.layers.0.mlp.up_proj"].base.kernel[...]
    assert np.abs(changed - kernels["model.layers.0.mlp.up_proj"]).max() > 1e-3

    unmerge_lora(model)
    for path, layer in lora_layers(model).items():
        np.testing.assert_allclose(layer.base.kernel[...], kernels[path], atol=1e-6, rtol=0)
    np.testing.assert_allclose(logits(model), unmerged, atol=1e-5, rtol=0)

    plain = merged_model(model)
    assert not lora_layers(plain) and lora_layers(model)
    np.testing.assert_allclose(logits(plain), unmerged, atol=1e-5, rtol=0)
    llm.save(plain, None, tmp_path / "merged")
    np.testing.assert_allclose(logits(load(tmp_path / "merged")), unmerged, atol=1e-5, rtol=0)
    llm.save(model, None, tmp_path / "base")  # an unmerged LoRA model saves its base weights
    # merge + unmerge restored the kernels up to float32 rounding (checked above)
    np.testing.assert_allclose(logits(load(tmp_path / "base")), base, atol=1e-5, rtol=0)

    remove_lora(model, merge=False)
    assert not lora_layers(model)
    np.testing.assert_allclose(logits(model), base, atol=1e-5, rtol=0)


def test_peft_loads_our_adapter(reference, tmp_path):
    directory, hf = reference
    model = load(directory)
    base = logits(model)
    paths = apply_lora(model, LoraConfig(r=4, lora_alpha=8, target_modules=PROJECTIONS),
                       rngs=nnx.Rngs(1))
    randomize_b(model, seed=1)
    ours = logits(model)
    assert np.abs(ours - base).max() > 1e-2
    save_adapter(model, tmp_path / "adapter", base_model_name_or_path=str(directory))
    save_adapter(model, tmp_path / "adapter")  # replaces the existing directory

    written = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert written["target_modules"] == sorted(paths)
    assert (written["peft_type"], written["r"], written["lora_alpha"]) == ("LORA", 4, 8)
    theirs = peft.PeftModel.from_pretrained(copy.deepcopy(hf), str(tmp_path / "adapter"))
    theirs.eval()
    assert peft_paths(theirs) == set(paths)
    assert np.abs(torch_logits(theirs) - ours).max() < 1e-4

    again = load(directory)
    load_adapter(again, tmp_path / "adapter")
    assert np.array_equal(logits(again), ours)


def test_we_load_peft_adapter(reference, tmp_path):
    directory, hf = reference
    torch.manual_seed(2)
    if hf.config.tie_word_embeddings:
        cfg = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.05, target_modules=PROJECTIONS,
                              task_type="CAUSAL_LM")
    else:  # also lm_head (peft then stores its base weight too) and rank-stabilised scaling
        cfg = peft.LoraConfig(r=4, lora_alpha=12, use_rslora=True, task_type="CAUSAL_LM",
                              target_modules=PROJECTIONS + ["lm_head"])
    theirs = peft.get_peft_model(copy.deepcopy(hf), cfg)
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn_like(p) * 0.1)
    theirs.eval()
    theirs.save_pretrained(str(tmp_path / "adapter"))
    expected = torch_logits(theirs)

    model = load(directory)
    base = logits(model)
    paths = load_adapter(model, tmp_path / "adapter")
    assert set(paths) == peft_paths(theirs)
    layer = lora_layers(model)["model.layers.1.mlp.down_proj"]
    assert layer.scaling == pytest.approx(cfg.lora_alpha / (np.sqrt(cfg.r) if cfg.use_rslora
                                                            else cfg.r))
    assert layer.lora_dropout == cfg.lora_dropout
    assert np.abs(expected - base).max() > 1e-2
    assert np.abs(logits(model) - expected).max() < 1e-4


@pytest.mark.parametrize("target, exclude", [
    (["q_proj", "v_proj"], None),
    (["o_proj", "mlp.up_proj", "layers.1.self_attn.k_proj"], None),
    (r".*\.layers\.1\.self_attn\.(q|k)_proj", None),
    ("all-linear", None),
    (["lm_head", "gate_proj"], None),
    ("all-linear", ["down_proj", "model.layers.0.self_attn.q_proj"]),
    (r".*_proj", r".*\.layers\.0\..*"),
])
def test_target_selection_matches_peft(qwen3_dir, target, exclude):
    directory, hf = qwen3_dir
    model = load(directory)
    ours = apply_lora(model, LoraConfig(r=4, target_modules=target, exclude_modules=exclude),
                      rngs=nnx.Rngs(0))
    theirs = peft.get_peft_model(copy.deepcopy(hf), peft.LoraConfig(
        r=4, target_modules=target, exclude_modules=exclude, task_type="CAUSAL_LM"))
    assert len(ours) == len(set(ours))
    assert set(ours) == peft_paths(theirs)
    assert set(lora_layers(model)) == set(ours)
    if target == r".*\.layers\.1\.self_attn\.(q|k)_proj":  # independent of peft
        assert ours == ["model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.q_proj"]
    if target == "all-linear":
        assert "lm_head" not in ours


def test_adapter_only_step_lowers_loss_and_keeps_base(qwen2_dir):
    directory, _ = qwen2_dir
    model = load(directory)
    apply_lora(model, LoraConfig(r=4, target_modules=PROJECTIONS), rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adamw(1e-2), wrt=nnx.LoRAParam)
    batch = jnp.asarray(np.random.default_rng(3).integers(1, 97, (4, 12)), jnp.int32)

    def loss_fn(m):
        out = m(batch[:, :-1])
        return optax.softmax_cross_entropy_with_integer_labels(out, batch[:, 1:]).mean()

    @nnx.jit
    def step(m, opt):
        loss, grads = nnx.value_and_grad(loss_fn, argnums=nnx.DiffState(0, nnx.LoRAParam))(m)
        opt.update(m, grads)
        return loss

    frozen = nnx.All(nnx.Param, nnx.Not(nnx.LoRAParam))
    before = jax.tree.map(np.array, nnx.state(model, frozen))
    lora_before = jax.tree.map(np.array, nnx.state(model, nnx.LoRAParam))
    losses = [float(step(model, optimizer)) for _ in range(6)]  # each before its update

    after = jax.tree.map(np.array, nnx.state(model, frozen))
    assert jax.tree.structure(after) == jax.tree.structure(before)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(after),
                                                    jax.tree.leaves(before), strict=True))
    lora_after = jax.tree.leaves(nnx.state(model, nnx.LoRAParam))
    assert all(not np.array_equal(a, b)
               for a, b in zip(lora_after, jax.tree.leaves(lora_before), strict=True))
    assert losses[-1] < losses[0] - 0.05  # 4.60 -> 4.09 after five updates


def test_dropout_only_in_train_mode_and_only_on_lora_path(qwen2_dir):
    directory, _ = qwen2_dir
    model = load(directory)
    base = logits(model)
    apply_lora(model, LoraConfig(r=4, lora_dropout=0.5, target_modules=PROJECTIONS),
               rngs=nnx.Rngs(0))
    randomize_b(model)
    evaluated = logits(model)  # adapters start in eval mode
    assert np.array_equal(logits(model), evaluated)
    model.train()
    first, second = logits(model), logits(model)
    assert np.abs(first - evaluated).max() > 1e-3
    assert np.abs(first - second).max() > 1e-3
    model.eval()
    assert np.array_equal(logits(model), evaluated)

    for layer in lora_layers(model).values():
        layer.lora_b[...] = jnp.zeros_like(layer.lora_b[...])
    model.train()
    assert np.array_equal(logits(model), base)  # dropout never touches the base path


@pytest.mark.parametrize("kwargs, field", [
    (dict(r=0), "r"), (dict(r=2.5), "r"), (dict(r=True), "r"),
    (dict(lora_alpha=0), "lora_alpha"), (dict(lora_dropout=1.0), "lora_dropout"),
    (dict(lora_dropout=-0.1), "lora_dropout"), (dict(target_modules=[]), "target_modules"),
    (dict(target_modules=""), "target_modules"), (dict(target_modules="("), "target_modules"),
    (dict(target_modules=["q_proj", ""]), "target_modules"),
    (dict(exclude_modules=[]), "exclude_modules"), (dict(use_rslora=1), "use_rslora"),
])
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"LoraConfig\.{field}\b"):
        LoraConfig(**kwargs)


def test_apply_and_save_errors(qwen2_dir, tmp_path):
    directory, _ = qwen2_dir
    model = load(directory)
    with pytest.raises(ValueError, match="selects no linear layer.*'q_proj'"):
        apply_lora(model, LoraConfig(target_modules="q_proj"), rngs=nnx.Rngs(0))  # full match
    with pytest.raises(ValueError, match="lm_head"):  # tied: there is no lm_head layer
        apply_lora(model, LoraConfig(target_modules=["lm_head"]), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="embed_tokens, a Embed"):
        apply_lora(model, LoraConfig(target_modules=["embed_tokens", "q_proj"]),
                   rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="no LoRA layers"):
        save_adapter(model, tmp_path / "none")
    assert not lora_layers(model) and not (tmp_path / "none").exists()
    apply_lora(model, LoraConfig(r=4, target_modules=["q_proj"]), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="already has a LoRA adapter"):
        apply_lora(model, LoraConfig(target_modules=["q_proj", "v_proj"]), rngs=nnx.Rngs(0))
    lora_layers(model)["model.layers.0.self_attn.q_proj"].lora_alpha = 3.0
    with pytest.raises(ValueError, match="differ in"):
        save_adapter(model, tmp_path / "mixed")


@pytest.fixture(scope="module")
def good_adapter(qwen2_dir, tmp_path_factory):
    directory, _ = qwen2_dir
    model = load(directory)
    apply_lora(model, LoraConfig(r=4, target_modules=["q_proj", "down_proj"]), rngs=nnx.Rngs(0))
    randomize_b(model)
    return save_adapter(model, tmp_path_factory.mktemp("good") / "adapter")


def _edit(good, tmp_path, config=None, tensors=None):
    from safetensors.numpy import load_file, save_file

    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    if config is not None:
        cfg = json.loads((bad / "adapter_config.json").read_text())
        config(cfg)
        (bad / "adapter_config.json").write_text(json.dumps(cfg))
    if tensors is not None:
        arrays = load_file(str(bad / "adapter_model.safetensors"))
        tensors(arrays)
        save_file(arrays, str(bad / "adapter_model.safetensors"))
    return bad


Q1 = "base_model.model.model.layers.1.self_attn.q_proj"


def _rename(arrays, old, new):
    arrays[new] = arrays.pop(old)


@pytest.mark.parametrize("edit, error, match", [
    (dict(config=lambda c: c.update(peft_type="IA3")), ValueError, "peft_type"),
    (dict(config=lambda c: c.update(use_dora=True)), ValueError, "use_dora"),
    (dict(config=lambda c: c.update(rank_pattern={"q_proj": 2})), ValueError, "rank_pattern"),
    (dict(config=lambda c: c.update(bias="all")), ValueError, "bias"),
    (dict(config=lambda c: c.update(r=0)), ValueError, "LoraConfig.r"),
    (dict(config=lambda c: c.update(r=8)), ValueError,
     r"lora_A\.weight' has shape \(4, \d+\), expected \(8, "),
    (dict(config=lambda c: c.update(target_modules=["q_proj"])), ValueError,
     "down_proj.lora_A.weight.*does not select"),
    (dict(tensors=lambda a: [_rename(a, f"{Q1}.{k}.weight",
                                     f"{Q1.replace('layers.1', 'layers.7')}.{k}.weight")
                             for k in ("lora_A", "lora_B")]), ValueError,
     r"layers\.7\.self_attn\.q_proj.*not a linear layer"),
    (dict(tensors=lambda a: a.update({f"{Q1}.lora_A.weight": np.zeros((4, 10), np.float32)})),
     ValueError, rf"{Q1}\.lora_A\.weight' has shape \(4, 10\)"),
    (dict(tensors=lambda a: a.pop(f"{Q1}.lora_B.weight")), ValueError,
     rf"missing tensor {Q1}\.lora_B\.weight"),
    (dict(tensors=lambda a: a.update(extra=np.zeros(3, np.float32))), ValueError,
     "'extra' is not a LoRA weight"),
])
def test_load_adapter_errors(qwen2_dir, good_adapter, tmp_path, edit, error, match):
    directory, _ = qwen2_dir
    model = load(directory)
    base = logits(model)
    with pytest.raises(error, match=match):
        load_adapter(model, _edit(good_adapter, tmp_path, **edit))
    assert not lora_layers(model)  # checked before the model was touched
    assert np.array_equal(logits(model), base)


def test_load_adapter_missing_files(qwen2_dir, good_adapter, tmp_path):
    model = load(qwen2_dir[0])
    with pytest.raises(FileNotFoundError, match="no such adapter directory"):
        load_adapter(model, tmp_path / "nowhere")
    no_config = _edit(good_adapter, tmp_path)
    (no_config / "adapter_config.json").unlink()
    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        load_adapter(model, no_config)
    shutil.rmtree(no_config)
    no_weights = _edit(good_adapter, tmp_path)
    (no_weights / "adapter_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="adapter_model.safetensors"):
        load_adapter(model, no_weights)
    assert not lora_layers(model)
    assert isinstance(load_adapter(model, good_adapter), list)
    assert all(isinstance(m, LoRALinear) for m in lora_layers(model).values())
