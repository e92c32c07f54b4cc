"""PPO on CartPole-v1 and the five MinAtar games: the undelayed reference of later experiments.

    python -m experiments.ppo_baseline --preset smoke|default|paper [--seeds N] [--out DIR]

CartPole uses purejaxrl's CartPole settings (two tanh layers of 64, 4 envs × 128 steps); MinAtar
uses the MinAtar CNN (one 3×3 conv with 16 channels, a 128-unit layer) with 64 envs × 128 steps
and purejaxrl's MinAtar hyperparameters. Seeds train as one vmapped program.

summary.json: ``return/<env>`` (mean over seeds of the final return: the mean episode return
over the last 5% of updates), ``return_std/<env>`` (its standard deviation over seeds),
``random_return/<env>`` (a uniformly random policy on the same environment),
``env_steps_per_second`` (all environments, compile time excluded), ``compile_seconds``.
Plot: ``learning_curves.png``.
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import numpy as np

import envs
from experiments import harness
from jaxrl.agents.ppo import PPOConfig, make_train
from jaxrl.random_policy import random_policy_return

NAME = "ppo_baseline"
RANDOM_POLICY_STEPS = 3000  # longer than a Freeway episode (2500 frames)
MINATAR = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
           "SpaceInvaders-MinAtar")
CARTPOLE_PPO = PPOConfig()
MINATAR_PPO = PPOConfig(
    env="Breakout-MinAtar", num_envs=64, num_steps=128, total_timesteps=10_000_000,
    update_epochs=4, num_minibatches=8, network="minatar_cnn", activation="relu", lr=5e-4,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """PPO baseline on CartPole-v1 and MinAtar."""

    preset: harness.Preset = "default"
    """smoke (< 2 min on CPU), default (the headline run on a 2-core CPU), paper (GPU/TPU)."""
    envs: tuple[str, ...] = ("CartPole-v1", *MINATAR)
    """Environments to train on, in order."""
    seeds: int = 4
    """Independent seeds, trained as one vmapped program."""
    seed: int = 0
    """Base seed; seed i uses fold_in(key(seed), i)."""
    out: str | None = None
    """Output folder (default runs/ppo_baseline/<UTC timestamp>)."""
    resume: str | None = None
    """Continue the run in this folder from its newest checkpoints (other flags are ignored)."""
    chunks: int = 10
    """Progress/checkpoint chunks per environment."""
    cartpole: PPOConfig = CARTPOLE_PPO
    """PPO for non-MinAtar environments (its env field is replaced by each name in --envs)."""
    minatar: PPOConfig = MINATAR_PPO
    """PPO for MinAtar games (its env field is replaced by each name in --envs)."""

    def __post_init__(self):
        for name in self.envs:
            if not envs.registry.is_registered(name):
                raise ValueError(f"Config.envs: unknown environment {name!r}; see "
                                 "envs.registered()")
        if not self.envs:
            raise ValueError("Config.envs: expected at least one environment")
        harness.ints_at_least(self, 1, "seeds", "chunks")


PRESETS = {
    "smoke": dict(
        envs=("CartPole-v1", "Breakout-MinAtar"), seeds=2, chunks=2,
        cartpole=dataclasses.replace(CARTPOLE_PPO, total_timesteps=40_960),
        minatar=dataclasses.replace(MINATAR_PPO, num_envs=16, total_timesteps=40_960),
    ),
    "default": dict(
        minatar=dataclasses.replace(MINATAR_PPO, total_timesteps=500_000),
    ),
    "paper": dict(seeds=16),
}


def ppo_config(config: Config, env_name: str) -> PPOConfig:
    base = config.minatar if env_name in MINATAR or "MinAtar" in env_name else config.cartpole
    return dataclasses.replace(base, env=env_name)


def final_return(curve: np.ndarray) -> np.ndarray:
    """Per seed: mean episode return over the last 5% of updates (at least one)."""
    tail = curve[-max(1, len(curve) // 20):]
    return np.nanmean(tail, axis=0)


def plot(run: harness.RunDir, curves: dict, randoms: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(curves)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (name, (steps, ret)) in zip(axes.flat, curves.items()):
        with warnings.catch_warnings():  # updates in which no episode ended are NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(ret, 1), np.nanstd(ret, 1)
        ok = np.isfinite(mean)
        steps, mean, std = steps[ok], mean[ok], std[ok]
        ax.plot(steps, mean, label="PPO")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.25)
        ax.axhline(randoms[name], color="grey", ls="--", label="random")
        ax.set_title(name)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episode return")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend()
    fig.tight_layout()
    run.savefig(fig, "learning_curves.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    if config.resume:
        run = harness.RunDir(config.resume)
        config = run.read_config(Config)
    else:
        run = harness.RunDir.new(NAME, config.out)
        run.write_config(config)
    # Validate every environment's PPO config before anything is compiled.
    ppo_configs = {name: ppo_config(config, name) for name in config.envs}
    print(f"{NAME}: preset={config.preset} seeds={config.seeds} -> {run.path}")

    base = jax.random.key(config.seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(np.arange(config.seeds))
    summary, curves, randoms, rows = {}, {}, {}, []
    total = harness.Timing()
    for name, ppo in ppo_configs.items():
        program = make_train(ppo)
        try:
            _, metrics, timing = harness.train_seeds(program, keys, run, name, config.chunks)
        except harness.TrainingDiverged as err:
            raise SystemExit(f"{NAME}: {err} (resume with --resume {run.path})") from None
        total.compile_seconds += timing.compile_seconds
        total.run_seconds += timing.run_seconds
        total.env_steps += timing.env_steps
        env, params = envs.make(name)
        randoms[name] = float(random_policy_return(env, params, jax.random.key(config.seed),
                                                   num_steps=RANDOM_POLICY_STEPS))
        ret = final_return(metrics["episode_return"])
        curves[name] = (metrics["env_steps"][:, 0], metrics["episode_return"])
        summary[f"return/{name}"] = float(np.mean(ret))
        summary[f"return_std/{name}"] = float(np.std(ret))
        summary[f"random_return/{name}"] = randoms[name]
        rows.append({"env": name, "return": float(np.mean(ret)), "std": float(np.std(ret)),
                     "random": randoms[name], "env_steps": int(metrics["env_steps"][-1, 0]),
                     "steps/s": timing.env_steps_per_second})
    summary["env_steps_per_second"] = total.env_steps_per_second
    summary["compile_seconds"] = total.compile_seconds
    run.write_summary(summary)
    plot(run, curves, randoms)
    print(harness.format_table(rows))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
