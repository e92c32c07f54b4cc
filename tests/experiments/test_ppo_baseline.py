"""End to end: the ppo_baseline command writes its outputs, is deterministic and resumes."""

import json

import pytest

from experiments import ppo_baseline

TINY = ["--envs", "CartPole-v1", "--seeds", "2", "--chunks", "2",
        "--cartpole.total-timesteps", "2048", "--cartpole.hidden", "16"]
TIMING = ("env_steps_per_second", "compile_seconds")


def _figures(summary):
    return {k: v for k, v in summary.items() if k not in TIMING}


def test_outputs_determinism_and_resume(tmp_path):
    a = ppo_baseline.main([*TINY, "--out", str(tmp_path / "a")])
    files = {p.name for p in (tmp_path / "a").iterdir()}
    assert {"config.json", "metrics.jsonl", "summary.json", "learning_curves.png",
            "checkpoints"} <= files
    on_disk = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert set(on_disk) == {"return/CartPole-v1", "return_std/CartPole-v1",
                            "random_return/CartPole-v1", *TIMING}
    assert on_disk["env_steps_per_second"] > 0
    b = ppo_baseline.main([*TINY, "--out", str(tmp_path / "b")])
    assert _figures(a) == _figures(b)
    # Resuming a finished run recomputes the same figures from its checkpoints and curves.
    c = ppo_baseline.main(["--resume", str(tmp_path / "a")])
    assert c == a  # timing too: it is kept with the run, not measured again


def test_unknown_environment_fails_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        ppo_baseline.main(["--envs", "CartPole-v2", "--out", str(tmp_path / "x")])
    assert err.value.code != 0
    assert "CartPole-v2" in str(err.value.code) + capsys.readouterr().err
    assert not (tmp_path / "x").exists()
