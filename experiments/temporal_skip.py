"""Temporal skip connections for delayed real-time control (Anokhin et al., ICLR 2025, "Handling
Delay in Real-Time Reinforcement Learning"), MinAtar part, PPO with BPTT through the pipeline.

    python -m experiments.temporal_skip --preset smoke|default|paper [--seeds N] [--out DIR]

Each MinAtar game runs with neuron execution time τ (``ActionHold``: one tick = τ frames, the
action held) for every τ in ``--taus`` and four actor architectures with the same layers (the
paper's CNN: 3×3 convolutions 32-64-64, 512 units, head; depth N = 5):

* ``undelayed``: the ordinary forward pass (the reference);
* ``plain``: the pipelined network (observation reaches the action after N ticks);
* ``skip``: pipeline + temporal skip connections to the head (1 tick);
* ``skip_history``: skip + the last ``history_obs`` observations and ``history_actions`` actions
  in the input (``History``; default k = 2 observations and m = N actions).

The undelayed reference runs at the same τ (actions held alike), so the normalised figure isolates
the network's delay. The brax/SAC part of the issue is not implemented here.

summary.json: ``return/<env>/tau<τ>/<arch>`` (mean over seeds of the final return: the mean
episode return over the last 10% of updates) and ``normalized/<arch>/tau<τ>`` (that return as a
fraction of the undelayed reference at the same τ, averaged over games). Plot:
``normalized_return.png``.
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import numpy as np

import envs
from envs.wrappers import ActionHold, History
from experiments import harness
from jaxrl.agents.ppo_pipeline import PPOPipelineConfig, make_train

NAME = "temporal_skip"
MINATAR = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
           "SpaceInvaders-MinAtar")
ARCHS = ("undelayed", "plain", "skip", "skip_history")
PAPER_PPO = PPOPipelineConfig(activation="relu")
DEFAULT_PPO = PPOPipelineConfig(activation="relu", total_timesteps=250_000)


@dataclasses.dataclass(frozen=True)
class Config:
    """Pipelined PPO agents under neuron execution time τ on MinAtar."""

    preset: harness.Preset = "default"
    """smoke (about a minute on CPU), default (a short CPU run), paper (GPU/TPU scale)."""
    envs: tuple[str, ...] = MINATAR
    """MinAtar games to train on."""
    taus: tuple[int, ...] = (1, 2, 3, 4)
    """Neuron execution times τ (environment frames per tick)."""
    archs: tuple[str, ...] = ARCHS
    """Actor architectures; the first must be 'undelayed' (the reference)."""
    history_obs: int = 2
    """Observations in the input of skip_history (the current one included)."""
    history_actions: int = 0
    """Past actions in the input of skip_history; 0 means the actor depth N."""
    seeds: int = 2
    """Independent seeds, trained as one vmapped program."""
    seed: int = 0
    """Base seed; seed i uses fold_in(key(seed), i)."""
    out: str | None = None
    """Output folder (default runs/temporal_skip/<UTC timestamp>)."""
    chunks: int = 5
    """Progress/checkpoint chunks per run."""
    ppo: PPOPipelineConfig = DEFAULT_PPO
    """PPO-BPTT settings shared by every run (env, variant and undelayed are set per run)."""

    def __post_init__(self):
        for name in self.envs:
            if not envs.registry.is_registered(name):
                raise ValueError(f"Config.envs: unknown environment {name!r}; see "
                                 "envs.registered()")
        if not self.envs:
            raise ValueError("Config.envs: expected at least one environment")
        if not self.taus or any(int(t) < 1 for t in self.taus):
            raise ValueError(f"Config.taus={self.taus} is invalid: expected integers >= 1")
        bad = [a for a in self.archs if a not in ARCHS]
        if bad or not self.archs or self.archs[0] != "undelayed":
            raise ValueError(f"Config.archs={self.archs} is invalid: expected names from {ARCHS}"
                             " starting with 'undelayed' (the reference)")
        for field in ("seeds", "chunks", "history_obs"):
            if getattr(self, field) < 1:
                raise ValueError(f"Config.{field}={getattr(self, field)} is invalid: expected "
                                 "an integer >= 1")
        if self.history_actions < 0:
            raise ValueError(f"Config.history_actions={self.history_actions} is invalid: "
                             "expected an integer >= 0")


PRESETS = {
    "smoke": {
        "envs": ("Breakout-MinAtar",), "taus": (2,), "seeds": 1, "chunks": 1,
        "ppo": dataclasses.replace(PAPER_PPO, num_envs=8, num_steps=16, num_minibatches=2,
                                   update_epochs=2, channels=(8, 8), hidden=32,
                                   total_timesteps=8 * 16 * 8),
    },
    "default": {},
    "paper": {"seeds": 5, "ppo": PAPER_PPO},
}


def run_setup(config: Config, env_name: str, tau: int, arch: str):
    """``(PPO config, env, params)`` of one run."""
    ppo = dataclasses.replace(config.ppo, env=env_name, variant="plain" if arch in
                              ("undelayed", "plain") else "skip", undelayed=arch == "undelayed")
    env, params = envs.make(env_name)
    env = ActionHold(env, tau)
    if arch == "skip_history":
        env = History(env, config.history_obs, config.history_actions or ppo.actor_depth)
    return ppo, env, params


def final_return(curve: np.ndarray) -> np.ndarray:
    """Per seed: mean episode return over the last 10% of updates (at least one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(curve[-max(1, len(curve) // 10):], axis=0)


def normalized(summary: dict, config: Config) -> dict:
    out = {}
    for arch in config.archs:
        for tau in config.taus:
            ratios = [summary[f"return/{e}/tau{tau}/{arch}"]
                      / summary[f"return/{e}/tau{tau}/undelayed"] for e in config.envs]
            out[f"normalized/{arch}/tau{tau}"] = float(np.mean(ratios))
    return out


def plot(run: harness.RunDir, summary: dict, config: Config) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for arch in config.archs:
        ax.plot(config.taus, [summary[f"normalized/{arch}/tau{t}"] for t in config.taus],
                marker="o", label=arch)
    ax.set_xlabel("neuron execution time τ (frames per tick)")
    ax.set_ylabel("return / undelayed return")
    ax.set_title(f"MinAtar ({len(config.envs)} games)")
    ax.legend()
    fig.tight_layout()
    run.savefig(fig, "normalized_return.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    setups = {(e, t, a): run_setup(config, e, t, a)  # validates every run's config first
              for e in config.envs for t in config.taus for a in config.archs}
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: preset={config.preset} seeds={config.seeds} runs={len(setups)} -> "
          f"{run.path}")
    base = jax.random.key(config.seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(np.arange(config.seeds))
    summary, rows = {}, []
    for (env_name, tau, arch), (ppo, env, params) in setups.items():
        program = make_train(ppo, env=env, env_params=params)
        tag = f"{env_name}_tau{tau}_{arch}"
        try:
            _, metrics, _ = harness.train_seeds(program, keys, run, tag, config.chunks)
        except harness.TrainingDiverged as err:
            raise SystemExit(f"{NAME}: {err}") from None
        ret = final_return(metrics["episode_return"])
        summary[f"return/{env_name}/tau{tau}/{arch}"] = float(np.mean(ret))
        rows.append({"env": env_name, "tau": tau, "arch": arch, "return": float(np.mean(ret)),
                     "std": float(np.std(ret)), "env_steps": int(metrics["env_steps"][-1, 0])})
    summary.update(normalized(summary, config))
    run.write_summary(summary)
    plot(run, summary, config)
    print(harness.format_table(rows))
    print(harness.format_table([{"arch": a, **{f"tau{t}": summary[f"normalized/{a}/tau{t}"]
                                               for t in config.taus}} for a in config.archs]))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
