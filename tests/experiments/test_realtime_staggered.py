"""Smoke run of the scheduler study of experiments.realtime_staggered (part 1)."""

import json

import pytest

from experiments import realtime_staggered

TINY = ["--inference-frames", "1", "3", "4", "--seeds", "1", "--measure-periods", "4"]


def test_scheduler_study_writes_summary_and_plot(tmp_path):
    summary = realtime_staggered.main([*TINY, "--preset", "smoke", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "summary.json",
                                                   "schedulers.png"}
    assert json.loads((tmp_path / "summary.json").read_text()) == pytest.approx(summary,
                                                                                  nan_ok=True)
    for d in (1, 3, 4):
        assert summary[f"inaction/staggered_max/D{d}"] == 0.0
        assert summary[f"processes_needed/D{d}"] == d
        for kind in realtime_staggered.KINDS:
            assert f"inaction_jitter/{kind}/D{d}" in summary
    # Unstaggered processes post in bursts, one slot per burst: inaction (D - 1) / D.
    assert summary["inaction/async/D4"] == pytest.approx(3 / 4)
    # Sequential acts on one frame in D + 1.
    assert summary["inaction/sequential/D3"] == pytest.approx(3 / 4)
    assert summary["delay/sequential/D3"] == summary["delay/staggered_max/D3"] == 3
    assert summary["processes_needed_slope"] == pytest.approx(1.0)


def test_bad_config_fails_before_running(tmp_path):
    with pytest.raises(ValueError, match="jitter"):
        realtime_staggered.Config(jitter=1.5)
    with pytest.raises(ValueError, match="inference_frames"):
        realtime_staggered.Config(inference_frames=(0, 2))
