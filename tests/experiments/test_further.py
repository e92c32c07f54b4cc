"""The FURTHER experiment: the smoke preset writes its files and the summary keys the issue
names (slow: one compile of the whole training program; cheetah2's also compiles brax
physics), bad configs stop before anything runs, and the summary of known metrics is right."""

import json

import numpy as np
import pytest

from experiments import further

METHODS = ("further", "lili", "masac")


@pytest.mark.slow
def test_smoke_preset(tmp_path):
    summary = further.main(["--game", "ibs", "--preset", "smoke", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "summary.json",
                                                     "metrics.jsonl", "learning_curves.png"}
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    expected = {f"avg_reward/ibs/{m}/{a}" for m in METHODS for a in ("agent_0", "agent_1")}
    expected |= {f"frac_seeds_peer_on_A/{m}" for m in METHODS} | {"gain_error/ibs"}
    assert set(summary) == expected
    # Bach–Stravinsky pays at most 2 per step, and only (A,A)/(B,B) pay at all.
    for m in METHODS:
        r0, r1 = summary[f"avg_reward/ibs/{m}/agent_0"], summary[f"avg_reward/ibs/{m}/agent_1"]
        assert 0.0 <= r0 <= 2.0 and 0.0 <= r1 <= 2.0


@pytest.mark.slow
def test_cheetah2_smoke_preset(tmp_path):
    summary = further.main(["--game", "cheetah2", "--preset", "smoke", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "summary.json",
                                                     "metrics.jsonl", "learning_curves.png"}
    expected = {f"avg_reward/cheetah2/{m}/{a}" for m in METHODS for a in ("agent_0", "agent_1")}
    assert set(summary) == expected | {"gain_error/cheetah2"}
    assert all(np.isfinite(v) for v in summary.values())


def test_cheetah2_cpu_presets():
    # a few thousand steps in 200-step episodes on a CPU; the paper preset keeps brax's 1000
    default = further.Config(game="cheetah2")
    assert further.resolve_steps(default) == 3000 and further.overrides(default) == {
        "horizon": 200}
    paper = further.Config(game="cheetah2", preset="paper")
    assert further.resolve_steps(paper) == 200_000 and further.overrides(paper) == {}
    assert further.overrides(further.Config(game="ibs")) == {}  # matrix games unchanged
    assert further.resolve_steps(further.Config(game="imp")) == 20_000


def test_bad_config_fails_before_running(tmp_path, capsys):
    cases = (("--game", "cheetah3", "Config.game"), ("--methods", "sac", "Config.methods"),
             ("--seeds", "0", "Config.seeds"))
    for flag, value, field in cases:
        out = tmp_path / field
        with pytest.raises(SystemExit) as err:
            further.main([flag, value, "--out", str(out)])
        assert err.value.code != 0
        assert field in str(err.value.code) + capsys.readouterr().err
        assert not out.exists()


def fake_metrics(episodes=12):
    # 2 methods × 3 seeds; agent 0 earns 1 per step except 2 in the last 10 episodes of seed 0
    shape = (2, 3, episodes)
    reward = np.ones(shape)
    reward[:, 0, -10:] = 2.0
    prob_a = np.zeros(shape)
    prob_a[0, :2, -1] = 0.9  # further: peers of seeds 0 and 1 end on A
    gain = np.full(shape, 1.5)
    return {"reward/agent_0": reward, "reward/agent_1": 2 * reward, "prob_A/agent_1": prob_a,
            "gain": gain, "episode_return": 150 * reward, "env_steps": np.ones(shape)}


def test_summary_of_known_metrics():
    config = further.Config(game="ibs", methods=("further", "lili"))
    summary, _ = further.summarise(config, fake_metrics())
    assert summary["avg_reward/ibs/further/agent_0"] == pytest.approx(4 / 3)
    assert summary["avg_reward/ibs/lili/agent_1"] == pytest.approx(8 / 3)
    assert summary["frac_seeds_peer_on_A/further"] == pytest.approx(2 / 3)
    assert summary["frac_seeds_peer_on_A/lili"] == 0.0
    # |1.5 − 2|, |1.5 − 1|, |1.5 − 1| -> 0.5
    assert summary["gain_error/ibs"] == pytest.approx(0.5)
    imp, _ = further.summarise(further.Config(game="imp", methods=("further", "lili")),
                               fake_metrics())
    # seed 0: 150·(2·1 + 10·2) = 3300; seeds 1, 2: 150·12 = 1800 -> mean 2300
    assert imp["accumulated_reward/further"] == pytest.approx(2300.0)
    assert "frac_seeds_peer_on_A/further" not in imp
    cheetah, _ = further.summarise(further.Config(game="cheetah2", methods=("further", "lili")),
                                   fake_metrics())
    assert set(cheetah) == {f"avg_reward/cheetah2/{m}/{a}" for m in ("further", "lili")
                            for a in ("agent_0", "agent_1")} | {"gain_error/cheetah2"}
    assert cheetah["gain_error/cheetah2"] == pytest.approx(0.5)


def test_cpu_seed_groups_divide_the_seeds():
    from experiments.further import CPU_SEED_GROUP, seed_group

    for seeds in (1, 2, 3, 4, 7, 12, 20, 30):
        group = seed_group(seeds)
        assert seeds % group == 0 and 1 <= group <= CPU_SEED_GROUP
    assert seed_group(20) == 4 and seed_group(2) == 2 and seed_group(7) == 1
