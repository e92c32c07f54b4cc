"""The tabular T-maze comparison end to end: adaptive κ=2 solves L = 5, frame κ=2 cannot."""

import json

import pytest

from experiments import adaptive_stacking


def test_tabular_adaptive_stack_solves_the_tmaze_and_frame_stack_guesses(tmp_path):
    out = tmp_path / "run"
    summary = adaptive_stacking.main([
        "--preset", "smoke", "--lengths", "5", "--agents", "adaptive_k2", "frame_k2",
        "--seeds", "2", "--tabular-steps", "10000", "--out", str(out)])
    assert summary == json.loads((out / "summary.json").read_text())
    assert (out / "tabular_success.png").exists()
    # Greedy over 100 episodes per seed; the cue is a coin flip, so a policy that cannot hold
    # it succeeds about half the time (binomial sd 0.035 over 200 episodes).
    assert summary["tabular/success/adaptive_k2/L5"] == 1.0
    assert 0.35 < summary["tabular/success/frame_k2/L5"] < 0.65
    assert summary["tabular/states/adaptive_k2/L5"] <= 25  # (4 + 1)^2 possible stacks
    assert summary["memory_regret/tabular/frame_k2/L5"] == pytest.approx(3.0)  # steps 1..3


def test_bad_config_is_refused_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        adaptive_stacking.main(["--lengths", "1", "--out", str(tmp_path / "x")])
    assert err.value.code != 0
    assert "Config.lengths" in str(err.value.code) + capsys.readouterr().err
    assert not (tmp_path / "x").exists()
