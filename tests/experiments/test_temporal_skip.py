"""The temporal_skip experiment: summary keys and files (slow: four CNN PPO compiles; a tiny
brax SAC run, slower still), and the cheap parts (run composition, normalisation, config
errors) in the default suite."""

import json

import numpy as np
import pytest

from experiments import temporal_skip
from jaxrl.agents.sac import SACConfig
from jaxrl.agents.sac_pipeline import SACPipelineConfig


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
    config = temporal_skip.Config(envs=("Breakout-MinAtar",), taus=(3,),
                                  ppo=temporal_skip.PAPER_PPO)  # the CNN, N = 5
    ppo, env, params = temporal_skip.run_setup(config, "Breakout-MinAtar", 3, "skip_history")
    assert (ppo.variant, ppo.undelayed, ppo.actor_depth) == ("skip", False, 5)
    channels = 4 * 2 + 3 * 5  # 2 frames of Breakout's 4 channels + N=5 one-hot actions of 3
    assert env.observation_space(params).shape == (10, 10, channels)
    assert env.inner.tau == 3
    ppo, env, _ = temporal_skip.run_setup(config, "Breakout-MinAtar", 3, "undelayed")
    assert (ppo.variant, ppo.undelayed, ppo.burn_in) == ("plain", True, 0)
    assert env.tau == 3


@pytest.mark.slow
def test_tiny_brax_run_writes_brax_keys(tmp_path):
    """The brax part alone (no MinAtar game) at a tiny SAC setting: four SAC compilations."""
    summary = temporal_skip.main([
        "--preset", "smoke", "--out", str(tmp_path), "--envs", "--brax-envs",
        "brax/halfcheetah", "--brax-taus", "2", "--sac.total-timesteps", "64",
        "--sac.buffer-size", "64", "--sac.learning-starts", "32", "--sac.batch-size", "8",
        "--sac.width", "16", "--sac.critic-hidden", "16", "16"])
    archs = temporal_skip.ARCHS
    expected = {f"return/brax/halfcheetah/tau2/{a}" for a in archs}
    expected |= {f"normalized/{a}/tau2" for a in archs}
    assert set(summary) == expected
    assert (tmp_path / "normalized_return.png").exists()


def test_brax_runs_compose_action_hold_history_and_the_sac_agents():
    config = temporal_skip.Config(envs=(), brax_envs=("brax/hopper",), brax_taus=(3,))
    pipe, env, params = temporal_skip.brax_setup(config, "brax/hopper", 3, "skip_history")
    assert isinstance(pipe, SACPipelineConfig) and (pipe.variant, pipe.depth) == ("skip", 3)
    # hopper: 11 observations, 3 actions; 2 observations and N = 3 actions in the input
    assert env.observation_space(params).shape == (2 * 11 + 3 * 3,)
    assert env.inner.tau == 3 and pipe.env == "brax/hopper"
    ref, env, _ = temporal_skip.brax_setup(config, "brax/hopper", 3, "undelayed")
    assert isinstance(ref, SACConfig) and env.tau == 3
    # the reference has the pipelined actor's layers and the same hyperparameters
    assert ref.hidden == (pipe.width,) * (pipe.depth - 1) == pipe.critic_hidden
    assert (ref.critic_lr, ref.learning_starts, ref.batch_size) == (
        pipe.critic_lr, pipe.learning_starts, pipe.batch_size)
    plain, _, _ = temporal_skip.brax_setup(config, "brax/hopper", 3, "plain")
    assert plain.variant == "plain"


def test_normalized_weights_every_environment_equally_across_suites():
    config = temporal_skip.Config(envs=("Breakout-MinAtar",), taus=(1,),
                                  brax_envs=("brax/hopper", "brax/ant"), brax_taus=(1, 2),
                                  archs=("undelayed", "plain"))
    summary = {"return/Breakout-MinAtar/tau1/undelayed": 4.0,
               "return/Breakout-MinAtar/tau1/plain": 1.0}
    for tau, (hopper, ant) in ((1, (0.5, 1.0)), (2, (2.0, 0.25))):
        summary |= {f"return/brax/hopper/tau{tau}/undelayed": 100.0,
                    f"return/brax/hopper/tau{tau}/plain": 100.0 * hopper,
                    f"return/brax/ant/tau{tau}/undelayed": 40.0,
                    f"return/brax/ant/tau{tau}/plain": 40.0 * ant}
    out = temporal_skip.normalized(summary, config)
    assert out["normalized/plain/tau1"] == pytest.approx(np.mean([0.25, 0.5, 1.0]))
    assert out["normalized/plain/tau2"] == pytest.approx(np.mean([2.0, 0.25]))  # brax only
    assert out["normalized_minatar/plain/tau1"] == pytest.approx(0.25)
    assert out["normalized_brax/plain/tau1"] == pytest.approx(0.75)
    assert "normalized_minatar/plain/tau2" not in out
    assert out["normalized/undelayed/tau2"] == 1.0


def test_normalized_is_the_game_mean_of_return_ratios():
    config = temporal_skip.Config(envs=("Breakout-MinAtar", "Asterix-MinAtar"), taus=(1,),
                                  brax_envs=(), archs=("undelayed", "plain"))
    summary = {"return/Breakout-MinAtar/tau1/undelayed": 4.0,
               "return/Breakout-MinAtar/tau1/plain": 1.0,
               "return/Asterix-MinAtar/tau1/undelayed": 2.0,
               "return/Asterix-MinAtar/tau1/plain": 3.0}
    out = temporal_skip.normalized(summary, config)
    assert out == {"normalized/undelayed/tau1": 1.0,
                   "normalized/plain/tau1": pytest.approx(np.mean([0.25, 1.5]))}


@pytest.mark.parametrize("kw,field", [({"taus": (0,)}, "taus"), ({"archs": ("plain",)}, "archs"),
                                      ({"envs": ("Pong-MinAtar",)}, "envs"),
                                      ({"history_obs": 0}, "history_obs"),
                                      ({"brax_envs": ("brax/cheetah",)}, "brax_envs"),
                                      ({"brax_taus": (0,)}, "brax_taus"),
                                      ({"envs": (), "brax_envs": ()}, "envs")])
def test_bad_config_names_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        temporal_skip.Config(**kw)
