"""FURTHER vs LILI vs MASAC on iterated matrix games and a two-agent HalfCheetah (Kim et al.,
NeurIPS 2022).

    python -m experiments.further --game ibs|ic|imp|cheetah2 --preset smoke|default|paper

Games and opponents (reference configs, ``jaxrl.further.REFERENCE``): ``ibs`` Bach–Stravinsky,
each method against FURTHER's tabular Q peer; ``ic`` coordination, each method in self-play;
``imp`` matching pennies, each method against LILI; ``cheetah2`` (:mod:`envs.cheetah2`, brax's
HalfCheetah with the back leg driven by agent 0 and the front leg by agent 1, shared forward
reward minus own control cost), each method with a tanh-Gaussian policy against a MASAC partner
(our config: the paper gives none for its continuous domains). Every method runs on the same
seeds, all methods × seeds vmapped as one compiled program (chunks of episodes, with progress).

summary.json: ``avg_reward/<game>/<method>/<agent>`` (mean reward per step over the last 10
episodes, mean over seeds; agent = agent_0 (the method) or agent_1 (its opponent)); for ibs
``frac_seeds_peer_on_A/<method>`` (seeds whose peer plays A with probability > 1/2 in the last
episode); ``gain_error/<game>`` (FURTHER's |ρ̂ − its average reward over the last 10 episodes|,
mean over seeds); for imp ``accumulated_reward/<method>`` (agent 0's total reward over the run,
mean over seeds). Expected (paper scale): ibs FURTHER ≈ 1.9–1.95 with the peer on A, LILI/MASAC
≈ 1 on B; ic ≈ 8; imp FURTHER's accumulated reward against LILI positive and growing; gain error
< 0.1; cheetah2 has no reference result (a few thousand CPU steps are far too few to learn to
run). Plot ``learning_curves.png``: agent 0's reward per step with seed bands (25–75 %), and
the peer's probability of A (ibs) or FURTHER's ρ̂.

Presets: smoke (2 seeds, 1 500 steps, about a minute on CPU for the matrix games; cheetah2
spends 3–8 minutes of a 2-core CPU compiling brax physics and the learners), default (20
seeds, reference steps capped at 20 000 for a CPU; cheetah2 3 000 steps in 200-step episodes),
paper (20 seeds, the reference steps: 50k / 10k / 1M; cheetah2 200k steps in brax's 1000-step
episodes).
"""

from __future__ import annotations

import dataclasses
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import harness
from experiments.harness.loop import chunk_size
from jaxrl.further import (
    CONTINUOUS_GAMES,
    METHODS,
    REFERENCE,
    make_train,
    reference_config,
)

NAME = "further"
GAMES = tuple(REFERENCE)  # ibs, ic, imp, cheetah2
LAST_EPISODES = 10
DEFAULT_STEP_CAP = 20_000
CPU_STEP_CAPS = {"cheetah2": 3000}
"""Step caps of the smoke/default presets for games slower than the matrix games on a CPU."""
CPU_HORIZONS = {"cheetah2": 200}
"""Episode lengths of the smoke/default presets where the reference's (brax's 1000) would
leave too few episodes to average over."""


@dataclasses.dataclass(frozen=True)
class Config:
    """FURTHER and its baselines on an iterated matrix game."""

    preset: harness.Preset = "default"
    """smoke (about a minute on CPU), default (CPU-sized), paper (reference steps)."""
    game: str = "ibs"
    """ibs (vs tabular Q), ic (self-play), imp (vs LILI) or cheetah2 (vs MASAC)."""
    methods: tuple[str, ...] = METHODS
    """Agent 0's methods (further, lili, masac)."""
    steps: int = 0
    """Environment steps per run (0: the preset's choice for the game)."""
    seeds: int = 20
    """Seeds per method (every method on the same seeds)."""
    seed: int = 0
    """Base seed."""
    chunks: int = 10
    """Progress reports per run."""
    out: str | None = None
    """Output folder (default runs/further/<UTC timestamp>)."""

    def __post_init__(self):
        if self.game not in GAMES:
            raise ValueError(f"Config.game={self.game!r} is invalid: expected one of "
                             f"{', '.join(GAMES)}")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"Config.methods={list(self.methods)} is invalid: expected distinct "
                             f"names among {', '.join(METHODS)}")
        for field, low in (("steps", 0), ("seeds", 1), ("chunks", 1)):
            if getattr(self, field) < low:
                raise ValueError(f"Config.{field}={getattr(self, field)} is invalid: expected an "
                                 f"integer >= {low}")


PRESETS = {
    "smoke": {"seeds": 2, "steps": 1500, "chunks": 2},
    "default": {},
    "paper": {},
}


def resolve_steps(config: Config) -> int:
    if config.steps:
        return config.steps
    reference = REFERENCE[config.game]["num_steps"]
    if config.preset == "paper":
        return reference
    return min(reference, CPU_STEP_CAPS.get(config.game, DEFAULT_STEP_CAP))


def overrides(config: Config) -> dict:
    """Config overrides besides the steps: a shorter horizon on the CPU presets (cheetah2)."""
    if config.preset != "paper" and config.game in CPU_HORIZONS:
        return {"horizon": CPU_HORIZONS[config.game]}
    return {}


CPU_SEED_GROUP = 4
"""On a CPU, seeds run in vmapped groups of at most this many (× the methods): XLA's CPU
runtime was seen to stall with 30-60 lanes in one program, and 12 run reliably. (imp once
needed one seed per program; that stall was jaxlib's batched QR in the orthogonal
initialisation, see ``jaxrl.linalg``, and its default preset now runs in groups of 4:
11 min for 20 seeds.)"""


def seed_group(seeds: int) -> int:
    """Seeds per compiled program: all of them on an accelerator; on a CPU the largest divisor
    of ``seeds`` not above ``CPU_SEED_GROUP``: equal groups share one compilation."""
    if jax.default_backend() != "cpu":
        return seeds
    return max(d for d in range(1, min(CPU_SEED_GROUP, seeds) + 1) if seeds % d == 0)


def train(config: Config, steps: int):
    """Metrics ``{name: (methods, seeds, episodes)}`` of every method × seed."""
    program = make_train(reference_config(config.game, num_steps=steps, **overrides(config)))
    all_keys = jax.random.split(jax.random.key(config.seed), config.seeds)
    methods = jnp.asarray([METHODS.index(m) for m in config.methods])
    over_all = lambda f: jax.vmap(jax.vmap(f, (0, None)), (None, 0))
    # Eager for cheetah2: its jitted init (one QR per orthogonally initialised layer, many in
    # one program) was seen to deadlock XLA's CPU runtime on 2 cores, before the initialiser
    # stopped batching its QRs (jaxrl.networks.init); kept, as it costs little.
    init = over_all(program.init) if config.game in CONTINUOUS_GAMES else jax.jit(
        over_all(program.init))
    n = program.num_updates
    size = chunk_size(n, -(-n // config.chunks))
    run = jax.jit(jax.vmap(jax.vmap(lambda s: program.run(s, size))))
    group = seed_group(config.seeds)
    groups, start = [], time.perf_counter()
    for first in range(0, config.seeds, group):
        state = init(all_keys[first:first + group], methods)
        history, done = [], 0
        while done < n:
            state, metrics = run(state)
            history.append(jax.device_get(metrics))
            done += size
            print(f"  {config.game}: seeds {first}-{first + group - 1}, episode {done}/{n} "
                  f"({done * program.steps_per_update} steps, "
                  f"{time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
        groups.append({k: np.concatenate([h[k] for h in history], -1) for k in history[0]})
    return {k: np.concatenate([g[k] for g in groups], 1) for k in groups[0]}


def summarise(config: Config, metrics: dict) -> tuple[dict, list[dict]]:
    game, summary, rows = config.game, {}, []
    last = slice(-LAST_EPISODES, None)
    for i, method in enumerate(config.methods):
        row = {"method": method}
        for agent in ("agent_0", "agent_1"):
            value = float(metrics[f"reward/{agent}"][i, :, last].mean())
            summary[f"avg_reward/{game}/{method}/{agent}"] = value
            row[agent] = value
        if game == "ibs":
            on_a = float((metrics["prob_A/agent_1"][i, :, -1] > 0.5).mean())
            summary[f"frac_seeds_peer_on_A/{method}"] = on_a
            row["peer on A"] = on_a
        if game == "imp":
            total = metrics["episode_return"][i].sum(-1)  # agent 0's reward over the run
            summary[f"accumulated_reward/{method}"] = float(total.mean())
            row["accumulated"] = summary[f"accumulated_reward/{method}"]
        if method == "further":
            error = np.abs(metrics["gain"][i, :, -1]
                           - metrics["reward/agent_0"][i, :, last].mean(-1))
            summary[f"gain_error/{game}"] = float(error.mean())
            row["gain"] = float(metrics["gain"][i, :, -1].mean())
        rows.append(row)
    return summary, rows


def plot(run: harness.RunDir, config: Config, metrics: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    second = "prob_A/agent_1" if config.game == "ibs" else "gain"
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = metrics["env_steps"][0, 0]
    for i, method in enumerate(config.methods):
        for ax, key in zip(axes, ("reward/agent_0", second)):
            if key == "gain" and method != "further":
                continue
            values = metrics[key][i]
            lo, mid, hi = np.percentile(values, [25, 50, 75], axis=0)
            ax.plot(steps, mid, label=method)
            ax.fill_between(steps, lo, hi, alpha=0.25)
    axes[0].set_ylabel("agent 0 reward per step")
    axes[1].set_ylabel("peer P(A)" if config.game == "ibs" else "FURTHER ρ̂")
    for ax in axes:
        ax.set_xlabel("environment steps")
        ax.legend(fontsize=8)
    fig.suptitle(f"{config.game}: median and 25–75 % over {config.seeds} seeds", fontsize=10)
    fig.tight_layout()
    run.savefig(fig, "learning_curves.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    steps = resolve_steps(config)
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: game={config.game} preset={config.preset} steps={steps} "
          f"seeds={config.seeds} methods={','.join(config.methods)} -> {run.path}")
    metrics = train(config, steps)
    for i, method in enumerate(config.methods):
        run.log_metrics(method, 0, {k: v[i].T for k, v in metrics.items()})
    summary, rows = summarise(config, metrics)
    run.write_summary(summary)
    plot(run, config, metrics)
    print(harness.format_table(rows))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
