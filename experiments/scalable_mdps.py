"""Scalable MDPs: polynomial mixing times and average-reward model-based agents (Riemer et al.
2022, "Continual Learning In Environments With Polynomial Mixing Times").

    python -m experiments.scalable_mdps --preset smoke|default|paper [--seeds N] [--out DIR]

Part 1, mixing-time scaling: the exact ε-mixing time (ε = 1/4) of the goal-seeking policy on
NBottleneck (cycles and random room order) and on NCycle (switch every 2·5^x steps, x = 1, 2,
3: the residence time) as the number of rooms R grows, with the slope of log t_mix against
log R. Part 2, regret: every agent of ``jaxrl.agents.avg_reward`` on NBottleneck, R × room
order, seeds vmapped; per-step regret (the paper's: Σ 1/Manhattan(previous goal, goal) −
Σ reward, over steps) at 1e4, 1e5, 1e6 steps (those within ``--steps``). All seeds of a run
share the goals drawn from ``--seed``. Part 3, MinAtar task sequences
(:mod:`experiments.scalable_sequence`): a policy trained on each game (PPO, or random actions),
its episode lengths measured by rollouts, and the mixing time of cyclic sequences of the first
``K`` games switched every ``T`` steps (memoryless switch) from their renewal chains.

summary.json: ``tmix/<env>/R<R>``, ``tmix_loglog_slope/<env>``,
``tmix_residence_loglog_slope/NCycle/R<R>`` (slope against the residence time),
``regret_per_step/<agent>/R<R>/<order>/<steps>`` (mean over seeds) and
``regret_per_step_std/<agent>/R<R>/<order>/<steps>`` (its standard deviation over seeds);
part 3: ``episode_length/<game>``, ``tmix_sequence/<game>``, ``tmix_sequence/K<K>/T<T>``,
``tmix_sequence_loglog_slope/tasks/T<T>`` and ``tmix_sequence_loglog_slope/period/K<K>``
(and ``sequence_policy_return/<game>`` with PPO policies).
Plot: ``scalable_mdps.png`` (t_mix against R; per-step regret curves; t_mix of task sequences
against K).

The smoke preset runs a subset (two agents, R = 2, 1000 steps) to stay near a minute. The
default preset (10 seeds, 1e4 steps, R ∈ {4, 16}, all three parts) takes 21.7 CPU minutes,
user and system time of the whole command (32 minutes of wall-clock on a 2-core CPU shared with
two other runs: part 1 about 35 s, part 2 about 22 minutes, part 3 the rest). The ρ agents
cost O(S²) per step with S = 25·R: in that run, 1e4 steps × 10 seeds took on-policy ρ 6–9 s,
off-policy ρ 14 s, ρ-gradient 26 s and Q-learning 0.6 s at R = 4, and 80–100 s, 160–190 s,
175–190 s and 0.6 s at R = 16 (wall-clock, compilation apart). At the paper preset's 1 000
steps per update, on-policy ρ takes 1.1–2 s, off-policy ρ 6.6–9 s and ρ-gradient 7.9 s per
1 000 steps at R = 16, two runs side by side. Narrow ``--rooms``/``--agents``/``--steps`` to
fit a budget; summary.json is rewritten after every run, so a stopped run keeps what it
finished.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import jax
import numpy as np

import envs
import envs.scalable as sc
from experiments import harness, scalable_sequence
from experiments.ppo_baseline import MINATAR_PPO
from experiments.scalable_sequence import loglog_slope
from jaxrl import mdp
from jaxrl.agents.avg_reward import AGENTS

NAME = "scalable_mdps"
TMIX_ENVS = ("NBottleneck-cycles", "NBottleneck-random", "NCycle-x1", "NCycle-x2", "NCycle-x3")
ORDERS = ("cycles", "random", "curriculum")


@dataclasses.dataclass(frozen=True)
class Config:
    """Mixing-time scaling and regret of average-reward vs discounted agents."""

    preset: harness.Preset = "default"
    """smoke (about a minute on CPU), default (2-core CPU), paper (the paper's 1e6 steps)."""
    seeds: int = 10
    """Independent seeds per regret run, trained as one vmapped program."""
    seed: int = 0
    """Base seed (also draws the rooms' goals); seed i uses fold_in(key(seed), i)."""
    out: str | None = None
    """Output folder (default runs/scalable_mdps/<UTC timestamp>)."""
    tmix_envs: tuple[str, ...] = TMIX_ENVS
    """Environments of part 1: NBottleneck-<order> or NCycle-x<exponent>."""
    tmix_rooms: tuple[int, ...] = (2, 4, 8, 16, 32)
    """Numbers of rooms of part 1."""
    epsilon: float = 0.25
    """ε of the mixing time."""
    agents: tuple[str, ...] = tuple(AGENTS)
    """Agents of part 2."""
    rooms: tuple[int, ...] = (4, 16)
    """Numbers of rooms of part 2."""
    orders: tuple[str, ...] = ("random", "cycles")
    """Room orders of part 2."""
    steps: int = 10_000
    """Environment steps per regret run."""
    checkpoints: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    """Steps at which per-step regret is reported (those <= steps)."""
    log_every: int = 100
    """Environment steps per training update (one metrics row; the ρ agents' exact re-solve)."""
    chunks: int = 5
    """Progress/checkpoint chunks per regret run."""
    sequence_games: tuple[str, ...] = ("Breakout-MinAtar", "SpaceInvaders-MinAtar",
                                       "Asterix-MinAtar", "Seaquest-MinAtar", "Freeway-MinAtar")
    """Part 3: games of the task sequence, in switching order (empty: skip part 3)."""
    sequence_tasks: tuple[int, ...] = (1, 2, 3, 4, 5)
    """Part 3: numbers K of games in the sequence (the first K of sequence_games)."""
    sequence_periods: tuple[int, ...] = (100, 1_000, 10_000)
    """Part 3: mean steps T between task switches."""
    sequence_policy: str = "ppo"
    """Part 3: policy on each game: ppo (trained first) or random."""
    sequence_train_steps: int = 200_000
    """Part 3: PPO training steps per game."""
    sequence_bins: int = 32
    """Part 3: age bins of each game's renewal chain."""

    def __post_init__(self):
        for name in self.tmix_envs:
            _parse_env(name)
        for field in ("seeds", "steps", "log_every", "chunks"):
            if getattr(self, field) < 1:
                raise ValueError(f"Config.{field}={getattr(self, field)} is invalid: expected "
                                 "an integer >= 1")
        for field in ("tmix_rooms", "rooms"):
            if not getattr(self, field) or min(getattr(self, field)) < 1:
                raise ValueError(f"Config.{field}={getattr(self, field)} is invalid: expected "
                                 "a non-empty tuple of integers >= 1")
        unknown = [a for a in self.agents if a not in AGENTS]
        if unknown:
            raise ValueError(f"Config.agents: unknown {unknown}; expected names from "
                             f"{', '.join(AGENTS)}")
        bad = [o for o in self.orders if o not in ORDERS]
        if bad:
            raise ValueError(f"Config.orders: unknown {bad}; expected {', '.join(ORDERS)}")
        if not 0 < self.epsilon < 1:
            raise ValueError(f"Config.epsilon={self.epsilon} is invalid: expected (0, 1)")
        if self.sequence_games:
            unknown = [g for g in self.sequence_games if g not in envs.registered()]
            if unknown:
                raise ValueError(f"Config.sequence_games: unknown {unknown}; expected names "
                                 "from envs.registered()")
            if not self.sequence_tasks or not all(
                    1 <= k <= len(self.sequence_games) for k in self.sequence_tasks):
                raise ValueError(f"Config.sequence_tasks={self.sequence_tasks} is invalid: "
                                 f"expected integers in 1 … {len(self.sequence_games)} (the "
                                 "number of sequence_games)")
            if not self.sequence_periods or min(self.sequence_periods) < 1:
                raise ValueError(f"Config.sequence_periods={self.sequence_periods} is invalid: "
                                 "expected integers >= 1")
        if self.sequence_policy not in scalable_sequence.POLICIES:
            raise ValueError(f"Config.sequence_policy={self.sequence_policy!r} is invalid: "
                             f"expected one of {scalable_sequence.POLICIES}")
        if self.sequence_train_steps < 8192 or self.sequence_bins < 1:
            raise ValueError("Config.sequence_train_steps must be >= 8192 (one PPO update) and "
                             "Config.sequence_bins >= 1")
        if self.steps % self.log_every:
            raise ValueError(f"Config.steps={self.steps} is invalid: expected a multiple of "
                             f"log_every={self.log_every}")


PRESETS = {
    "smoke": {"seeds": 2, "tmix_envs": ("NBottleneck-cycles", "NCycle-x1"), "tmix_rooms": (2, 4),
                  "agents": ("on_policy_rho", "q_learning"), "rooms": (2,), "orders": ("cycles",),
                  "steps": 1_000, "checkpoints": (500, 1_000), "chunks": 1,
                  "sequence_games": ("Breakout-MinAtar", "Asterix-MinAtar"),
                  "sequence_tasks": (1, 2), "sequence_periods": (100, 1_000),
                  "sequence_policy": "random"},
    "default": {},
    "paper": {"steps": 1_000_000, "log_every": 1_000, "chunks": 20},
}


def _parse_env(name: str):
    kind, _, arg = name.partition("-")
    if kind == "NBottleneck" and arg in ORDERS:
        return lambda rooms: sc.NBottleneck(rooms, 5, arg)
    if kind == "NCycle" and arg.startswith("x") and arg[1:].isdigit():
        return lambda rooms: sc.NCycle(rooms, 5, "cycles", exponent=int(arg[1:]))
    raise ValueError(f"Config.tmix_envs: {name!r} is not NBottleneck-<order> "
                     f"(order in {ORDERS}) or NCycle-x<exponent>")


def goal_seeking_tmix(env, params, epsilon: float) -> float:
    p_sa, _ = env.transition_model(params)
    policy = mdp.lift(env.goal_seeking_policy(params), env.observation_of_state())
    return float(jax.jit(mdp.policy_mixing_time, static_argnums=3)(p_sa, policy, epsilon, 24))


def mixing_part(config: Config, summary: dict) -> dict:
    tmix = {}
    for name in config.tmix_envs:
        build = _parse_env(name)
        for rooms in config.tmix_rooms:
            env = build(rooms)
            t0 = time.perf_counter()
            value = goal_seeking_tmix(env, env.params_from_seed(config.seed), config.epsilon)
            tmix[name, rooms] = value
            summary[f"tmix/{name}/R{rooms}"] = value
            print(f"  t_mix {name} R={rooms}: {value:.0f} ({time.perf_counter() - t0:.1f}s)")
        summary[f"tmix_loglog_slope/{name}"] = loglog_slope(
            config.tmix_rooms, [tmix[name, r] for r in config.tmix_rooms])
    cycles = sorted(int(n[len("NCycle-x"):]) for n in config.tmix_envs if n.startswith("NCycle"))
    if len(cycles) > 1:
        for rooms in config.tmix_rooms:
            summary[f"tmix_residence_loglog_slope/NCycle/R{rooms}"] = loglog_slope(
                [2 * 5**x for x in cycles], [tmix[f"NCycle-x{x}", rooms] for x in cycles])
    return tmix


def regret_part(config: Config, run: harness.RunDir, summary: dict):
    base = jax.random.key(config.seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(np.arange(config.seeds))
    marks = [c for c in config.checkpoints if c <= config.steps]
    curves, rows = {}, []
    for rooms in config.rooms:
        for order in config.orders:
            env = sc.NBottleneck(rooms, 5, order)
            params = env.params_from_seed(config.seed)
            for agent in config.agents:
                cls, module = AGENTS[agent]
                agent_config = cls(total_timesteps=config.steps, log_every=config.log_every)
                program = module.make_train(agent_config, env, params)
                tag = f"{agent}/R{rooms}/{order}"
                _, metrics, timing = harness.train_seeds(program, keys, run, tag, config.chunks)
                steps = metrics["env_steps"][:, 0]
                regret = np.cumsum(metrics["optimal_reward"] - metrics["reward"], axis=0)
                per_step = regret / steps[:, None]  # [updates, seeds]
                curves[agent, rooms, order] = (steps, per_step.mean(1))
                row = {"agent": agent, "R": rooms, "order": order}
                for mark in marks:
                    at = per_step[mark // config.log_every - 1]
                    summary[f"regret_per_step/{agent}/R{rooms}/{order}/{mark}"] = float(at.mean())
                    summary[f"regret_per_step_std/{agent}/R{rooms}/{order}/{mark}"] = float(
                        at.std())
                    row[f"regret@{mark}"] = float(at.mean())
                row["steps/s"] = timing.env_steps_per_second
                rows.append(row)
                run.write_summary(summary)  # a stopped run keeps what it finished
    return curves, rows


def plot(run: harness.RunDir, config: Config, tmix: dict, curves: dict,
         sequence: dict | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = [(r, o) for r in config.rooms for o in config.orders]
    panels = 1 + len(settings) + (sequence is not None)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4), squeeze=False)
    ax = axes[0, 0]
    for name in config.tmix_envs:
        ax.plot(config.tmix_rooms, [tmix[name, r] for r in config.tmix_rooms], "o-", label=name)
    ax.set(xscale="log", yscale="log", xlabel="rooms R", ylabel="t_mix (goal-seeking)",
           title=f"mixing time, ε={config.epsilon}")
    ax.set_xticks(config.tmix_rooms, [str(r) for r in config.tmix_rooms])
    ax.minorticks_off()
    ax.legend(fontsize=7)
    for ax, (rooms, order) in zip(axes[0, 1:1 + len(settings)], settings):
        for agent in config.agents:
            steps, reg = curves[agent, rooms, order]
            style = "-" if "rho" in agent else "--"
            ax.plot(steps, reg, style, label=agent)
        ax.set(xscale="log", xlabel="environment steps", ylabel="per-step regret",
               title=f"NBottleneck R={rooms}, {order}")
    axes[0, len(settings)].legend(fontsize=6)
    if sequence is not None:
        scalable_sequence.plot(axes[0, -1], config.sequence_tasks, config.sequence_periods,
                               sequence)
    fig.tight_layout()
    run.savefig(fig, "scalable_mdps.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: preset={config.preset} seeds={config.seeds} -> {run.path}")
    summary: dict = {}
    print("part 1: mixing times of goal-seeking policies")
    tmix = mixing_part(config, summary)
    run.write_summary(summary)
    print("part 2: regret")
    curves, rows = regret_part(config, run, summary)
    run.write_summary(summary)
    sequence, sequence_rows = None, []
    if config.sequence_games:
        print(f"part 3: mixing times of MinAtar task sequences ({config.sequence_policy} "
              "policies)")
        found, sequence_rows, sequence = scalable_sequence.study(
            config.sequence_games, config.sequence_tasks, config.sequence_periods,
            config.sequence_policy, config.sequence_train_steps, config.sequence_bins,
            config.epsilon, jax.random.fold_in(jax.random.key(config.seed), 3),
            dataclasses.replace(MINATAR_PPO, num_envs=16))
        summary.update(found)
        run.write_summary(summary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plot(run, config, tmix, curves, sequence)
    print(harness.format_table([{"env": n, **{f"R{r}": tmix[n, r] for r in config.tmix_rooms},
                                 "slope": summary[f"tmix_loglog_slope/{n}"]}
                                for n in config.tmix_envs]))
    print(harness.format_table(rows))
    if sequence_rows:
        print("t_mix of task sequences (rows: games K, columns: switch period T)")
        print(harness.format_table(sequence_rows))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
