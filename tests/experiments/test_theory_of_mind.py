"""Smoke run of experiments.theory_of_mind: summary keys, files, and the baselines' bracket."""

import json

import pytest

from experiments import theory_of_mind
from llm.tom import BASELINES, PARTNERS, STYLES

GAMES = ("rock_paper_scissors", "prisoners_dilemma")


def test_smoke_preset_writes_the_summary_and_plot(tmp_path):
    summary = theory_of_mind.main(["--preset", "smoke", "--out", str(tmp_path),
                                   "--seeds", "1", "--rounds", "12"])
    agents = [*BASELINES, *(f"llm_{s}" for s in STYLES)]
    expected = {f"{kind}/{a}/{g}/{p}" for kind in ("accuracy", "regret", "gap")
                for a in agents for g in GAMES for p in PARTNERS}
    expected |= {f"invalid_rate/{a}" for a in agents}
    assert set(summary) == expected
    assert json.loads((tmp_path / "summary.json").read_text()) == pytest.approx(summary)
    assert (tmp_path / "accuracy_vs_regret.png").stat().st_size > 0
    lines = (tmp_path / "rounds.jsonl").read_text().splitlines()
    assert len(lines) == len(agents) * len(GAMES) * len(PARTNERS) * 12
    # the bracket: oracle regret 0; literal-only predicts as well but loses against
    # deterministic partners; the random stand-in model's answers always parse
    deterministic = ("constant", "cycle", "tit_for_tat", "beat_your_last",
                     "win_stay_lose_shift", "fictitious_play")
    for g in GAMES:
        for p in PARTNERS:
            assert summary[f"regret/oracle/{g}/{p}"] == 0.0
        for p in deterministic:
            assert summary[f"accuracy/literal_only/{g}/{p}"] == 1.0
        for p in ("biased_random", "uniform"):  # same draws, same (agent-independent) prediction
            assert summary[f"accuracy/literal_only/{g}/{p}"] == summary[f"accuracy/oracle/{g}/{p}"]
    assert summary["accuracy/literal_only/rock_paper_scissors/cycle"] == 1.0
    assert summary["regret/literal_only/rock_paper_scissors/cycle"] > 0
    assert all(summary[f"invalid_rate/{a}"] == 0.0 for a in agents)


@pytest.mark.parametrize("flags, field", [
    (["--agent", "psychic"], "Config.agent"),
    (["--games", "go"], "Config.games"),
    (["--rounds", "0"], "Config.rounds"),
    (["--agent", "llm", "--backend", "local"], "Config.checkpoint"),
    (["--agent", "llm", "--backend", "openai"], "Config.url"),
])
def test_bad_flags_fail_before_running_and_name_the_field(tmp_path, capsys, flags, field):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as err:
        theory_of_mind.main(["--preset", "smoke", "--out", str(out), *flags])
    assert err.value.code != 0
    assert field in str(err.value.code) + capsys.readouterr().err
    assert not out.exists()
