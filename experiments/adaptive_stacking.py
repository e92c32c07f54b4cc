"""Adaptive Stacking vs frame stacking on the T-maze (Nangue Tasse et al., 2025).

    python -m experiments.adaptive_stacking --preset smoke|default|paper [--seeds N] [--out DIR]

Part 1 (tabular, passive T-maze, L ∈ {5, 10, 20, 50}): Q-learning (α 0.1, γ 0.99, ε 0.1,
random tie-breaking: the reference code's settings) over the stack of an adaptive stack κ=2
(flat action a: move a mod 4, memory a div 4), a frame stack κ=2 and a frame stack κ=L. After
training, the greedy policy plays fresh episodes.

summary.json (means over seeds): ``tabular/success/<agent>/L<L>`` (greedy success rate),
``tabular/states/<agent>/L<L>`` (table rows visited: the number of distinct stacks),
``memory_regret/tabular/<agent>/L<L>`` (greedy episodes' steps with the seen cue out of the
stack). Plot: ``tabular_success.png``. Parts 2 (PPO with MLP/LSTM/Transformer extractors) and
3 (POPGym tasks) are not implemented yet.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from envs.memory import AdaptiveStack, TMaze, TMazeParams, frame_stack, is_cue
from envs.memory.tmaze import NUM_OBS
from experiments import harness
from jaxrl.agents.tabular_q import TabularQConfig, greedy_returns, make_train
from jaxrl.tabular_index import stack_index

NAME = "adaptive_stacking"
AGENTS = ("adaptive_k2", "frame_k2", "frame_kL")
EVAL_EPISODES = 100
TABLE_ROWS = 2**18  # hashed rows for stacks of more codes (frame κ=L): 2% collision odds at L=50


@dataclasses.dataclass(frozen=True)
class Config:
    """Adaptive Stacking on the T-maze."""

    preset: harness.Preset = "default"
    """smoke (< 1 min on CPU), default (the headline run on a 2-core CPU), paper (GPU/TPU)."""
    lengths: tuple[int, ...] = (5, 10, 20, 50)
    """Corridor lengths of the tabular passive T-maze."""
    agents: tuple[str, ...] = AGENTS
    """Which stacks to compare: adaptive_k2, frame_k2, frame_kL."""
    tabular_steps: int = 100_000
    """Environment steps of tabular Q-learning per run (the spec's 1e5)."""
    seeds: int = 10
    """Independent seeds, trained as one vmapped program."""
    seed: int = 0
    """Base seed; seed i uses fold_in(key(seed), i)."""
    out: str | None = None
    """Output folder (default runs/adaptive_stacking/<UTC timestamp>)."""

    def __post_init__(self):
        if not self.lengths or any(length < 2 for length in self.lengths):
            raise ValueError(f"Config.lengths={self.lengths} is invalid: expected lengths >= 2")
        unknown = sorted(set(self.agents) - set(AGENTS))
        if unknown or not self.agents:
            raise ValueError(f"Config.agents: unknown {unknown}; expected some of {AGENTS}")
        if self.tabular_steps < 1 or self.seeds < 1:
            raise ValueError("Config.tabular_steps and Config.seeds must be >= 1")


PRESETS = {
    "smoke": {"lengths": (5, 10), "tabular_steps": 20_000, "seeds": 2},
    "default": {},
    "paper": {"seeds": 30},
}


def stacked_env(agent: str, length: int):
    """The T-maze inside the stack ``agent`` names, with its tabular config fields."""
    if agent == "adaptive_k2":
        env, k = AdaptiveStack(TMaze(), 2, "flat", relevant=is_cue), 2
    else:
        k = 2 if agent == "frame_k2" else length
        env = frame_stack(TMaze(), k, relevant=is_cue)
    index, num_states, _ = stack_index(NUM_OBS, k, max_states=TABLE_ROWS)
    return env, index, num_states


def evaluate(qconfig, env, params, q, keys):
    """Greedy returns and memory regret of each seed's table over ``EVAL_EPISODES`` episodes."""
    eval_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    max_steps = int(params.length) + 2

    def one(q, key):
        return greedy_returns(qconfig, q, key, EVAL_EPISODES, max_steps, env, params,
                              sum_info=("memory_regret",))

    return jax.jit(jax.vmap(one))(q, eval_keys)


def run_tabular(config: Config, run: harness.RunDir, keys) -> tuple[dict, list]:
    summary, rows = {}, []
    for length in config.lengths:
        params = TMazeParams(length=length)
        for agent in config.agents:
            env, index, num_states = stacked_env(agent, length)
            qconfig = TabularQConfig(env="TMaze", num_states=num_states, state_index=index,
                                     random_ties=True, total_timesteps=config.tabular_steps)
            program = make_train(qconfig, env, params)
            # Tabular runs take seconds: one compiled program, no chunked checkpoints.
            state, _ = jax.jit(jax.vmap(program))(keys)
            returns, sums = evaluate(qconfig, env, params, state.q, keys)
            success = np.nanmean(np.asarray(returns) > 0, axis=1) if returns.size else 0.0
            states = np.asarray(jnp.any(state.q != 0, axis=-1).sum(axis=-1))
            regret = np.asarray(sums["memory_regret"]).mean(axis=1)
            summary[f"tabular/success/{agent}/L{length}"] = float(np.mean(success))
            summary[f"tabular/states/{agent}/L{length}"] = float(np.mean(states))
            summary[f"memory_regret/tabular/{agent}/L{length}"] = float(np.mean(regret))
            rows.append({"L": length, "agent": agent, "success": float(np.mean(success)),
                         "success_std": float(np.std(success)), "states": float(np.mean(states)),
                         "memory_regret": float(np.mean(regret))})
            print(harness.format_table(rows[-1:]))
    return summary, rows


def plot(run: harness.RunDir, rows: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for agent in dict.fromkeys(r["agent"] for r in rows):
        mine = [r for r in rows if r["agent"] == agent]
        ax.errorbar([r["L"] for r in mine], [r["success"] for r in mine],
                    yerr=[r["success_std"] for r in mine], marker="o", capsize=3, label=agent)
    ax.set_xscale("log")
    ax.set_xlabel("corridor length L")
    ax.set_ylabel("greedy success rate")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Tabular Q, passive T-maze")
    ax.legend()
    fig.tight_layout()
    run.savefig(fig, "tabular_success.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: preset={config.preset} seeds={config.seeds} -> {run.path}")
    base = jax.random.key(config.seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(np.arange(config.seeds))
    summary, rows = run_tabular(config, run, keys)
    run.write_summary(summary)
    plot(run, rows)
    print(harness.format_table(rows))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
