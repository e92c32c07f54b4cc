"""The temporal_skip experiment: summary keys and files (slow: four CNN PPO compiles), and the
cheap parts (run composition, normalisation, config errors) in the default suite."""

import json

import numpy as np
import pytest

from experiments import temporal_skip


@pytest.mark.slow
def test_smoke_preset_writes_summary_and_plot(tmp_path):
    summary = temporal_skip.main(["--preset", "smoke", "--out", str(tmp_path)])
    archs = temporal_skip.ARCHS
    expected = {f"return/Breakout-MinAtar/tau2/{a}" for a in archs}
    expected |= {f"normalized/{a}/tau2" for a in archs}
    assert set(summary) == expected
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert {"config.json", "metrics.jsonl", "normalized_return.png"} <= {
        p.name for p in tmp_path.iterdir()}
    assert summary["normalized/undelayed/tau2"] == 1.0


def test_runs_compose_action_hold_history_and_variants():
    config = temporal_skip.Config(envs=("Breakout-MinAtar",), taus=(3,))
    ppo, env, params = temporal_skip.run_setup(config, "Breakout-MinAtar", 3, "skip_history")
    assert (ppo.variant, ppo.undelayed, ppo.actor_depth) == ("skip", False, 5)
    channels = 4 * 2 + 3 * 5  # 2 frames of Breakout's 4 channels + N=5 one-hot actions of 3
    assert env.observation_space(params).shape == (10, 10, channels)
    assert env.inner.tau == 3
    ppo, env, _ = temporal_skip.run_setup(config, "Breakout-MinAtar", 3, "undelayed")
    assert (ppo.variant, ppo.undelayed, ppo.burn_in) == ("plain", True, 0)
    assert env.tau == 3


def test_normalized_is_the_game_mean_of_return_ratios():
    config = temporal_skip.Config(envs=("Breakout-MinAtar", "Asterix-MinAtar"), taus=(1,),
                                  archs=("undelayed", "plain"))
    summary = {"return/Breakout-MinAtar/tau1/undelayed": 4.0,
               "return/Breakout-MinAtar/tau1/plain": 1.0,
               "return/Asterix-MinAtar/tau1/undelayed": 2.0,
               "return/Asterix-MinAtar/tau1/plain": 3.0}
    out = temporal_skip.normalized(summary, config)
    assert out == {"normalized/undelayed/tau1": 1.0,
                   "normalized/plain/tau1": pytest.approx(np.mean([0.25, 1.5]))}


@pytest.mark.parametrize("kw,field", [({"taus": (0,)}, "taus"), ({"archs": ("plain",)}, "archs"),
                                      ({"envs": ("Pong-MinAtar",)}, "envs"),
                                      ({"history_obs": 0}, "history_obs")])
def test_bad_config_names_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        temporal_skip.Config(**kw)
