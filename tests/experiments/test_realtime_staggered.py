"""Smoke runs of experiments.realtime_staggered: the scheduler study (part 1) and the learning
wiring (part 2) on a probe game with a closed-form answer; the real smoke preset is slow."""

import json

import numpy as np
import pytest

from experiments import realtime_staggered

TINY = ["--inference-frames", "1", "3", "4", "--seeds", "1", "--measure-periods", "4",
        "--learn-envs", "Probe-ActionReward", "--network", "mlp", "--learn-frames", "2",
        "--learn-steps", "800", "--wallclock-frames"]  # the runner has its own tests


def test_scheduler_study_writes_summary_and_plot(tmp_path):
    summary = realtime_staggered.main([*TINY, "--preset", "smoke", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "summary.json",
                                                   "schedulers.png", "learning.png"}
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
    # Part 2 on one-step episodes paying 1 for action 1: the inference processes run on across
    # episodes; sequential acts on one frame in D + 1 = 3 (the noop, action 0, pays nothing on
    # the others), staggered on every frame once the agent has learnt action 1.
    game = "Probe-ActionReward"
    assert summary[f"return/{game}/sequential/D2"] <= 1 / 3 + 0.05
    assert summary[f"return/{game}/staggered/D2"] > 0.8
    assert summary[f"return/{game}/noop"] == 0.0
    assert summary[f"return/{game}/random"] == pytest.approx(0.5, abs=0.05)
    assert summary[f"regret/{game}/sequential/D2/inaction"] > 0.4


@pytest.mark.slow
def test_smoke_preset_learns_in_real_time(tmp_path):
    summary = realtime_staggered.main(["--preset", "smoke", "--out", str(tmp_path)])
    for mode in ("sequential", "staggered"):
        assert np.isfinite(summary[f"return/Breakout-MinAtar/{mode}/D4"])
    # Part 3 on the clock (generous bounds: threads wake late on a loaded machine): four
    # staggered workers post about one action per frame (16.7 ms) and leave few frames idle;
    # one sequential worker leaves most idle (ideal 4/5).
    assert 10 < summary["wallclock/interval_mean_ms/4"] < 25
    assert summary["wallclock/inaction/staggered/D4"] < 0.35
    assert summary["wallclock/inaction/sequential/D4"] > 0.55


def test_bad_config_fails_before_running(tmp_path):
    with pytest.raises(ValueError, match="jitter"):
        realtime_staggered.Config(jitter=1.5)
    with pytest.raises(ValueError, match="inference_frames"):
        realtime_staggered.Config(inference_frames=(0, 2))
    with pytest.raises(ValueError, match="learn_envs"):
        realtime_staggered.Config(learn_envs=("Pong",))
    with pytest.raises(ValueError, match="learn_steps"):
        realtime_staggered.Config(learn_steps=801)
