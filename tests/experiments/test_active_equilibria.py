"""End to end: the smoke preset writes its files and summary keys, and gives the expected
results: a best-responding learner (fictitious play) is steered to Bach–Stravinsky 2 and
coordination 8 and matching pennies stays at 0, while a non-learning peer (always B) gives
back the ordinary best response to B."""

import json

import numpy as np
import pytest

from experiments import active_equilibria

GAMES = ("bach_stravinsky", "coordination", "matching_pennies")
PEERS = ("fixed", "fictitious_play", "naive_pg")


def test_smoke_preset(tmp_path):
    summary = active_equilibria.main(["--preset", "smoke", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "summary.json",
                                                     "active_vs_nash.png"}
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    expected_keys = {f"nash/{g}" for g in GAMES}
    expected_keys |= {f"{k}/{g}/{p}" for k in ("active_value", "realized") for g in GAMES
                      for p in PEERS}
    assert set(summary) == expected_keys
    np.testing.assert_allclose(sorted(map(tuple, summary["nash/bach_stravinsky"])),
                               [(2 / 3, 2 / 3), (1, 2), (2, 1)])
    assert summary["nash/matching_pennies"] == [[0.0, 0.0]]
    # Active values against fictitious play exceed or equal every Nash payoff of agent 0.
    for game, value in zip(GAMES, (2.0, 8.0, 0.0)):
        assert summary[f"active_value/{game}/fictitious_play"] == pytest.approx(value, abs=1e-6)
        assert summary[f"realized/{game}/fictitious_play"] == pytest.approx(value, abs=0.1)
    # Against always-B the best response pays 1 (B), 8 (B) and 1 (B, matching).
    for game, value in zip(GAMES, (1.0, 8.0, 1.0)):
        assert summary[f"active_value/{game}/fixed"] == pytest.approx(value, abs=1e-6)
        assert summary[f"realized/{game}/fixed"] == pytest.approx(value, abs=1e-6)
    assert summary["active_value/bach_stravinsky/naive_pg"] == pytest.approx(2.0, abs=0.01)


def test_bad_config_fails_before_running(tmp_path, capsys):
    cases = (("--peers", "sarsa", "Config.peers"), ("--tail", "0", "Config.tail"))
    for flag, value, field in cases:
        out = tmp_path / field
        with pytest.raises(SystemExit) as err:
            active_equilibria.main([flag, value, "--out", str(out)])
        assert err.value.code != 0
        assert field in str(err.value.code) + capsys.readouterr().err
        assert not out.exists()
