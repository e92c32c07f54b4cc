"""The epman_long_context command: bad settings stop it before training; the smoke preset writes
the summary keys of every task, method (EpMAN also with perturbed ranks) and length and the
plot (slow)."""

import json

import pytest

from experiments import epman_long_context as exp


@pytest.mark.parametrize("flags,field", [
    (["--chunk-size", "0"], "chunk_size"),
    (["--top-k", "9"], "top_k"),
    (["--train-len", "36"], "train_len"),
    (["--embedder", "bm25"], "embedder"),
    (["--tasks", "haystack"], "tasks"),
])
def test_bad_settings_fail_before_training(tmp_path, capsys, flags, field):
    with pytest.raises(SystemExit) as err:
        exp.main(["--preset", "smoke", *flags, "--out", str(tmp_path / "x")])
    assert err.value.code != 0
    assert f"Config.{field}" in str(err.value.code) + capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_smoke_preset_outputs(tmp_path):
    summary = exp.main(["--preset", "smoke", "--out", str(tmp_path)])
    cfg = exp.Config(**exp.PRESETS["smoke"])
    lengths = [cfg.train_len * m for m in cfg.multipliers]
    want = {f"accuracy/{t}/{m}/len{n}" for t in cfg.tasks for m in exp.METHODS for n in lengths}
    # EpMAN read with a_mem permuted among the top-K chunks (accuracy only)
    want |= {f"accuracy/{t}/epman_{w}_{s}_perturbed/len{n}" for t in cfg.tasks
             for w in ("uniform", "noisy") for s in ("narrow", "broad") for n in lengths}
    want |= {f"{k}/{m}/len{n}" for k in ("memory_bytes", "ms_per_token") for m in exp.METHODS
             for n in lengths}
    assert set(summary) == want
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert (tmp_path / "accuracy_vs_length.png").is_file()
    assert all(0 <= summary[k] <= 1 for k in want if k.startswith("accuracy"))
    n = lengths[-1]
    # self-attention attends to the whole context, EpMAN narrow and RAG to K chunks
    assert summary[f"memory_bytes/self_attention/len{n}"] > \
        summary[f"memory_bytes/epman_noisy_narrow/len{n}"] == summary[f"memory_bytes/rag/len{n}"]
