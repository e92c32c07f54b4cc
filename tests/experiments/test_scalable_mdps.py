"""End to end: the scalable_mdps command writes its outputs with the issue's summary keys."""

import json
import math

import pytest

from experiments import scalable_mdps

TINY = ["--preset", "smoke", "--tmix-envs", "NBottleneck-cycles", "--tmix-rooms", "2", "4",
        "--agents", "on_policy_rho", "q_learning", "--rooms", "2", "--steps", "500",
        "--checkpoints", "500", "--seeds", "2"]


@pytest.mark.slow  # about 40 s of CPU, mostly compiling; the default suite has the checks below
def test_smoke_outputs_and_summary_keys(tmp_path):
    summary = scalable_mdps.main([*TINY, "--out", str(tmp_path)])
    files = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "metrics.jsonl", "summary.json", "scalable_mdps.png"} <= files
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    expected = {"tmix/NBottleneck-cycles/R2", "tmix/NBottleneck-cycles/R4",
                "tmix_loglog_slope/NBottleneck-cycles"}
    for agent in ("on_policy_rho", "q_learning"):
        expected |= {f"regret_per_step/{agent}/R2/cycles/500",
                     f"regret_per_step_std/{agent}/R2/cycles/500"}
    games = ("Breakout-MinAtar", "Asterix-MinAtar")  # part 3 of the smoke preset
    expected |= {f"{k}/{g}" for g in games for k in ("episode_length", "tmix_sequence")}
    expected |= {f"tmix_sequence/K{k}/T{t}" for k in (1, 2) for t in (100, 1000)}
    expected |= {"tmix_sequence_loglog_slope/period/K2"}  # one K > 1: no slope against K
    assert set(on_disk) == expected
    assert on_disk == pytest.approx(summary)
    assert all(math.isfinite(v) for v in on_disk.values())
    # more rooms, longer mixing (goal-seeking policy, same goals seed)
    assert on_disk["tmix/NBottleneck-cycles/R4"] > on_disk["tmix/NBottleneck-cycles/R2"]


def test_bad_options_fail_before_running(tmp_path):
    with pytest.raises(SystemExit):
        scalable_mdps.main(["--agents", "sarsa", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit):
        scalable_mdps.main(["--tmix-envs", "NCycle-y2", "--out", str(tmp_path / "y")])
    with pytest.raises(SystemExit):
        scalable_mdps.main(["--sequence-tasks", "6", "--out", str(tmp_path / "z")])
    with pytest.raises(SystemExit):
        scalable_mdps.main(["--sequence-policy", "dqn", "--out", str(tmp_path / "w")])


def test_loglog_slope_recovers_a_power_law():
    rooms = [2, 4, 8, 16]
    assert scalable_mdps.loglog_slope(rooms, [3.0 * r**1.5 for r in rooms]) == pytest.approx(1.5)
    assert math.isnan(scalable_mdps.loglog_slope([2], [1.0]))
