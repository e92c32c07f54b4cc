"""The tabular T-maze comparison end to end: adaptive κ=2 solves L = 5, frame κ=2 cannot."""

import json

import pytest

from experiments import adaptive_stacking


def test_tabular_adaptive_stack_solves_the_tmaze_and_frame_stack_guesses(tmp_path):
    out = tmp_path / "run"
    summary = adaptive_stacking.main([
        "--preset", "smoke", "--parts", "tabular", "--lengths", "5",
        "--agents", "adaptive_k2", "frame_k2",
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
    with pytest.raises(SystemExit) as err:
        adaptive_stacking.main(["--ppo-encoding", "three", "--out", str(tmp_path / "y")])
    assert "Config.ppo_encoding" in str(err.value.code) + capsys.readouterr().err


def test_memory_and_attention_ratios_follow_the_stack_sizes():
    config = adaptive_stacking.Config(ppo_lengths=(8, 20))
    ratios = adaptive_stacking.memory_ratios(config)
    assert ratios["input_memory_ratio/L8"] == 4.0  # k*/κ = 8/2, from the observation shapes
    assert ratios["input_memory_ratio"] == 10.0
    # Attention FLOPs of the compiled kernel grow as (k*/κ)², up to lower-order terms.
    assert ratios["attention_flops_ratio/L20"] == pytest.approx(100, rel=0.15)


@pytest.mark.slow
def test_ppo_adaptive_stack_solves_and_generalises_where_frame_stacks_fail(tmp_path):
    summary = adaptive_stacking.main(["--preset", "smoke", "--parts", "ppo",
                                      "--out", str(tmp_path / "run")])
    assert summary["ppo/mlp/success/adaptive_k2/L6"] >= 0.95
    assert summary["ppo/mlp/test_success/adaptive_k2/L6"] >= 0.95  # 12-cell mazes, unseen
    assert 0.3 < summary["ppo/mlp/success/frame_k2/L6"] < 0.7  # 100 episodes: a coin flip
    assert summary["ppo/mlp/success/frame_kstar/L6"] >= 0.95
    assert summary["ppo/mlp/test_success/frame_kstar/L6"] < 0.75  # the window is too short


@pytest.mark.slow
def test_ppo_two_head_adaptive_stack_solves_the_tmaze(tmp_path):
    summary = adaptive_stacking.main(["--preset", "smoke", "--parts", "ppo", "--ppo-encoding",
                                      "multi", "--ppo-agents", "adaptive_k2",
                                      "--out", str(tmp_path / "run")])
    assert summary["ppo/mlp/success/adaptive_k2/L6"] >= 0.95


@pytest.mark.slow
def test_popgym_part_writes_returns_for_both_stacks(tmp_path):
    summary = adaptive_stacking.main(["--preset", "smoke", "--parts", "popgym",
                                      "--out", str(tmp_path / "run")])
    for agent in ("adaptive_k4", "frame_k4"):
        value = summary[f"popgym/mlp/return/{agent}/PositionOnlyCartPole"]
        assert -1.0 <= value <= 1.0  # POPGym-normalised: a dropped pole -1, a full episode 1
