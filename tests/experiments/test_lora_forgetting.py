"""experiments.lora_forgetting: bad input stops before any work; the smoke preset and the
real-checkpoint path (--model/--sft-data/--replay-data) write the issue's summary keys."""

import json

import numpy as np
import pytest

from experiments import lora_forgetting
from llm.kl_replay import save_chat_jsonl

VARIANTS = ("naive", "kl", "replay", "kl_replay")
KEYS = ("general_acc", "task_acc", "heldout_nll", "format_adherence")


@pytest.mark.parametrize("flags,message", [
    (["--kl-direction", "sideways"], "kl_direction"),
    (["--replay-ratio", "40"], "replay_ratio"),
    (["--replay-ratio", "0.3"], "whole number"),
    (["--variants", "naive", "magic"], "variants"),
    (["--sft-data", "x.jsonl"], "replay_data"),
])
def test_bad_config_stops_before_work(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as err:
        lora_forgetting.main([*flags, "--out", str(tmp_path / "run")])
    assert message in str(err.value.code) + capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_bad_data_files_stop_before_work(tmp_path):
    sft = tmp_path / "sft.jsonl"
    sft.write_text('{"prompt": "a", "response": "b"}\n{"prompt": "a"\n')
    replay = tmp_path / "replay.txt"
    replay.write_text("some text\n")
    args = ["--model", str(tmp_path), "--sft-data", str(sft), "--replay-data", str(replay),
            "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit, match=f"{sft}:2: not valid JSON"):
        lora_forgetting.main(args)
    save_chat_jsonl([[{"role": "user", "content": "a"},
                      {"role": "assistant", "content": "b"}]] * 4, sft)
    replay.write_text("\n\n")
    with pytest.raises(SystemExit, match="corpus is empty"):
        lora_forgetting.main(args)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lf") / "smoke"
    return out, lora_forgetting.main(["--preset", "smoke", "--out", str(out)])


@pytest.mark.slow
def test_smoke_preset_writes_summary_and_plot(smoke_run):
    out, summary = smoke_run
    assert json.loads((out / "summary.json").read_text()) == pytest.approx(summary, nan_ok=True)
    for key in KEYS:
        for variant in ("initial", *VARIANTS):
            value = summary[f"{key}/{variant}"]
            assert np.isfinite(value) and (key == "heldout_nll" or 0 <= value <= 1), key
    for variant in VARIANTS:
        assert summary[f"step_time_ratio/{variant}"] > 0
    assert summary["step_time_ratio/naive"] == 1.0
    assert (out / "forgetting.png").stat().st_size > 0
    assert (out / "pretrain" / "instruct" / "config.json").is_file()
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {r["run"] for r in records} >= {f"{v}/eval" for v in VARIANTS}


@pytest.mark.slow
def test_real_checkpoint_path(smoke_run, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out, _ = smoke_run
    sft = save_chat_jsonl([[{"role": "user", "content": f"Say {w}."},
                            {"role": "assistant", "content": f" {w}"}]
                           for w in ("red", "blue", "cat", "dog", "harp", "lute", "baker")] * 2,
                          tmp_path / "task.jsonl")
    general = save_chat_jsonl([[{"role": "user", "content": "Which colour?"},
                                {"role": "assistant", "content": " red"}]] * 3,
                              tmp_path / "general.jsonl")
    pq.write_table(pa.table({"text": [f"Doc {i} is about the harp and the cat." for i in range(40)]}),
                   tmp_path / "replay.parquet")
    summary = lora_forgetting.main([
        "--preset", "smoke", "--model", str(out / "pretrain" / "instruct"), "--sft-data", str(sft),
        "--replay-data", str(tmp_path / "replay.parquet"), "--general-data", str(general),
        "--variants", "naive", "kl_replay", "--steps", "3", "--batch-size", "4",
        "--out", str(tmp_path / "real")])
    for key in KEYS:
        assert np.isfinite(summary[f"{key}/kl_replay"])
    assert summary["step_time_ratio/kl_replay"] > 0
    assert (tmp_path / "real" / "forgetting.png").is_file()
