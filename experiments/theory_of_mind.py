"""Literal vs functional theory of mind in repeated games (Riemer et al., 2024, arXiv
2412.19726): does an agent that predicts its partner well also act well against it?

    python -m experiments.theory_of_mind --agent oracle literal_only frequency transition rmax
    python -m experiments.theory_of_mind --agent llm --backend local --checkpoint DIR
    python -m experiments.theory_of_mind --agent llm --backend openai --url http://127.0.0.1:8000/v1 --model NAME
    python -m experiments.theory_of_mind --agent llm --backend callable --function pkg.mod:fn

Every agent × game × partner (× prompt style for ``llm``) plays ``rounds`` rounds per seed
(llm.tom). Baselines ignore the prompt style; the LLM agent is reported once per style as
``llm_<style>``. ``--backend callable`` calls ``function(messages) -> str``; its default,
:func:`random_answer`, writes well-formed random answers (a plumbing check that needs no model).
``--backend openai`` reads the API key, if any, from the environment variable ``api_key_env``.

summary.json: ``accuracy/<agent>/<game>/<partner>`` (literal accuracy, mean over seeds),
``regret/<agent>/<game>/<partner>`` (functional regret summed over the rounds, mean over seeds),
``gap/<agent>/<game>/<partner>`` (accuracy − optimal-action rate), ``invalid_rate/<agent>``
(fraction of rounds whose output did not parse; 0 for baselines). Files: ``rounds.jsonl`` (one
line per round), ``accuracy_vs_regret.png``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import random
import re
import time
import zlib

import numpy as np

from experiments import harness
from llm.tom import (
    ACTION_NAMES,
    BASELINES,
    PARTNERS,
    STYLES,
    CallableBackend,
    LLMAgent,
    LocalBackend,
    OpenAIBackend,
    Planner,
    make_game,
    make_partner,
    play,
)

NAME = "theory_of_mind"
BACKENDS = ("callable", "local", "openai")


def random_answer(messages) -> str:
    """A stand-in model: a well-formed answer with random actions, seeded by the prompt."""
    system = messages[0]["content"]
    found = re.search(r"choose one of: (.+?)\.", system)
    names = found.group(1).split(", ") if found else ["?"]
    rng = random.Random(zlib.crc32(json.dumps(messages).encode()))
    return f"Prediction: {rng.choice(names)}\nAction: {rng.choice(names)}"


@dataclasses.dataclass(frozen=True)
class Config:
    """Theory-of-mind harness: agents against stateful partners in repeated games."""

    preset: harness.Preset = "default"
    """smoke (about a minute on CPU), default (the baselines on a 2-core CPU), paper."""
    agent: tuple[str, ...] = tuple(BASELINES)
    """Agents: baselines (oracle literal_only frequency transition rmax) and/or llm."""
    games: tuple[str, ...] = ("rock_paper_scissors", "prisoners_dilemma", "bach_stravinsky",
                              "matching_pennies")
    """Repeated games (llm.tom.ACTION_NAMES)."""
    partners: tuple[str, ...] = tuple(PARTNERS)
    """Partner policies (llm.tom.PARTNERS)."""
    styles: tuple[str, ...] = STYLES
    """Prompt styles of the llm agent."""
    rounds: int = 100
    """Rounds per episode (T)."""
    seeds: int = 3
    """Episodes per agent, game and partner."""
    seed: int = 0
    """Base seed; episode i uses seed + i for the partner's and the agent's draws."""
    out: str | None = None
    """Output folder (default runs/theory_of_mind/<UTC timestamp>)."""
    backend: str = "callable"
    """LLM backend: callable | local | openai."""
    function: str = "experiments.theory_of_mind:random_answer"
    """callable backend: module:function taking the chat messages and returning text."""
    checkpoint: str | None = None
    """local backend: Hugging Face checkpoint directory (or hub id when online)."""
    url: str | None = None
    """openai backend: base URL, e.g. http://127.0.0.1:8000/v1."""
    model: str | None = None
    """openai backend: model name."""
    api_key_env: str = "OPENAI_API_KEY"
    """openai backend: environment variable holding the API key (unset: no key sent)."""
    max_new_tokens: int = 256
    """Tokens per answer (local and openai backends)."""
    temperature: float = 0.0
    """Sampling temperature (0 = greedy)."""
    timeout: float = 60.0
    """openai backend: seconds per request."""
    retries: int = 3
    """openai backend: retries after a failed request."""

    def __post_init__(self):
        known = (*BASELINES, "llm")
        for field, values, allowed in (("agent", self.agent, known),
                                       ("games", self.games, tuple(ACTION_NAMES)),
                                       ("partners", self.partners, tuple(PARTNERS)),
                                       ("styles", self.styles, STYLES)):
            if not values:
                raise ValueError(f"Config.{field}: expected at least one of {', '.join(allowed)}")
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ValueError(f"Config.{field}: unknown {bad}; expected some of "
                                 f"{', '.join(allowed)}")
        for field in ("rounds", "seeds", "max_new_tokens"):
            if getattr(self, field) < 1:
                raise ValueError(f"Config.{field}={getattr(self, field)} is invalid: expected an "
                                 "integer >= 1")
        if self.backend not in BACKENDS:
            raise ValueError(f"Config.backend={self.backend!r}: expected one of "
                             f"{', '.join(BACKENDS)}")
        if "llm" in self.agent:
            if self.backend == "local" and not self.checkpoint:
                raise ValueError("Config.checkpoint: the local backend needs --checkpoint DIR")
            if self.backend == "openai" and not (self.url and self.model):
                raise ValueError("Config.url/Config.model: the openai backend needs --url and "
                                 "--model")
            if self.backend == "callable" and ":" not in self.function:
                raise ValueError(f"Config.function={self.function!r}: expected module:function")


PRESETS = {
    "smoke": {"agent": (*BASELINES, "llm"),
              "games": ("rock_paper_scissors", "prisoners_dilemma"), "rounds": 20, "seeds": 1},
    "default": {},
    "paper": {"games": tuple(ACTION_NAMES), "seeds": 10},
}


def make_backend(config: Config):
    if config.backend == "local":
        return LocalBackend.from_checkpoint(config.checkpoint,
                                            max_new_tokens=config.max_new_tokens,
                                            temperature=config.temperature, seed=config.seed)
    if config.backend == "openai":
        return OpenAIBackend(config.url, config.model, api_key=os.environ.get(config.api_key_env),
                             timeout=config.timeout, retries=config.retries,
                             temperature=config.temperature, max_tokens=config.max_new_tokens)
    module, _, name = config.function.partition(":")
    return CallableBackend(getattr(importlib.import_module(module), name))


def agents(config: Config) -> dict:
    """Agent name -> a factory of fresh agents (LLM agents share one backend)."""
    out = {name: BASELINES[name] for name in config.agent if name != "llm"}
    if "llm" in config.agent:
        backend = make_backend(config)
        for style in config.styles:
            out[f"llm_{style}"] = lambda style=style: LLMAgent(backend, style)
    return out


def plot(run: harness.RunDir, points: dict, rounds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for agent, xy in points.items():
        acc, reg = np.asarray(xy).T
        ax.scatter(acc, reg / rounds, label=agent, alpha=0.7, s=18)
    ax.set_xlabel("literal accuracy (partner's next action)")
    ax.set_ylabel("functional regret per round")
    ax.set_title("literal vs functional theory of mind (one point per game × partner)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    run.savefig(fig, "accuracy_vs_regret.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    factories = agents(config)
    print(f"{NAME}: preset={config.preset} agents={list(factories)} rounds={config.rounds} "
          f"seeds={config.seeds} -> {run.path}")
    summary, points, log_lines, rows = {}, {name: [] for name in factories}, [], []
    invalid = {name: [] for name in factories}
    start = time.time()
    for game_name in config.games:
        game = make_game(game_name)
        for partner_name in config.partners:
            partner = make_partner(partner_name, game)
            planner = Planner(game, partner, config.rounds)
            for agent_name, factory in factories.items():
                episodes = [play(game, partner, factory(), config.rounds, config.seed + i,
                                 planner) for i in range(config.seeds)]
                acc = float(np.mean([e.accuracy for e in episodes]))
                reg = float(np.mean([e.regret for e in episodes]))
                key = f"{agent_name}/{game_name}/{partner_name}"
                summary[f"accuracy/{key}"] = acc
                summary[f"regret/{key}"] = reg
                summary[f"gap/{key}"] = float(np.mean([e.gap for e in episodes]))
                points[agent_name].append((acc, reg))
                invalid[agent_name].extend(not r.valid for e in episodes for r in e.rounds)
                for i, e in enumerate(episodes):
                    for r in e.rounds:
                        log_lines.append(json.dumps({"agent": agent_name, "game": game_name,
                                                     "partner": partner_name, "seed": i,
                                                     **dataclasses.asdict(r)}))
            print(f"  {game_name:<20} {partner_name:<20} exact={planner.exact!s:<5} "
                  f"optimal={planner.value if planner.exact else float('nan'):8.2f} "
                  f"({time.time() - start:.0f}s)", flush=True)
    for agent_name in factories:
        summary[f"invalid_rate/{agent_name}"] = float(np.mean(invalid[agent_name]))
        acc, reg = np.asarray(points[agent_name]).T
        rows.append({"agent": agent_name, "accuracy": float(acc.mean()),
                     "regret/round": float(reg.mean() / config.rounds),
                     "invalid": summary[f"invalid_rate/{agent_name}"]})
    harness.write_atomic(run.path / "rounds.jsonl", "\n".join(log_lines) + "\n")
    run.write_summary(summary)
    plot(run, points, config.rounds)
    print(harness.format_table(rows))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
