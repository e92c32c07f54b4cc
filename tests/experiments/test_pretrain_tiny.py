"""End to end: pretrain_tiny writes a summary and two checkpoints that transformers reads."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers

import llm
from experiments import pretrain_tiny

TINY = ["--preset", "smoke", "--entities", "16", "--paraphrases", "2", "--vocab-size", "300",
        "--hidden-size", "32", "--intermediate-size", "64", "--layers", "1", "--heads", "2",
        "--kv-heads", "1", "--seq-len", "64", "--batch-size", "8", "--pretrain-epochs", "2",
        "--sft-epochs", "1", "--sft-batch-size", "8", "--eval-questions", "16",
        "--max-new-tokens", "4"]


def test_pipeline_outputs(tmp_path):
    out = tmp_path / "run"
    summary = pretrain_tiny.main([*TINY, "--out", str(out)])
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == pytest.approx(summary)
    for key in ("qa_accuracy/base", "qa_accuracy/instruct", "qa_choice_accuracy/base",
                "qa_choice_accuracy/instruct", "chance_accuracy"):
        assert 0.0 <= summary[key] <= 1.0, key
    for key in ("heldout_nll/base", "heldout_nll/instruct"):
        assert np.isfinite(summary[key]) and summary[key] > 0
    assert (out / "loss_curves.png").stat().st_size > 0

    model, tokenizer = llm.load(out / "instruct")
    n_params = sum(np.asarray(v).size for v in llm.state_dict(model).values())
    assert summary["params"] == n_params
    assert len(tokenizer) <= model.config.vocab_size
    # The checkpoint is a Hugging Face model: transformers computes the same logits.
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(out / "instruct")).eval()
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(out / "instruct"))
    messages = [{"role": "user", "content": "Where does anyone live?"}]
    ids = hf_tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                     return_dict=True)["input_ids"]
    assert ids == tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                tokenize=True, return_dict=True)["input_ids"]
    with torch.no_grad():
        ref = hf(torch.tensor([ids])).logits.numpy()
    np.testing.assert_allclose(np.asarray(model(jnp.asarray([ids]))), ref, atol=1e-4, rtol=0)
    base, _ = llm.load(out / "base")
    assert base.config.num_hidden_layers == 1


def test_bad_config_stops_before_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        pretrain_tiny.main(["--heads", "3", "--out", str(tmp_path / "x")])
    assert "heads" in str(err.value.code) + capsys.readouterr().err
    assert not (tmp_path / "x").exists()
