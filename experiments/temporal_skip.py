"""Temporal skip connections for delayed real-time control (Anokhin et al., ICLR 2025, "Handling
Delay in Real-Time Reinforcement Learning"): PPO with BPTT through the pipeline on MinAtar, SAC
with sequence replay on brax.

    python -m experiments.temporal_skip --preset smoke|default|paper [--seeds N] [--out DIR]

Every environment runs with neuron execution time τ (``ActionHold``: one tick = τ frames, the
action held) for every τ in ``--taus`` (MinAtar) or ``--brax-taus`` (brax) and four actor
architectures with the same layers:

* ``undelayed``: the ordinary forward pass (the reference);
* ``plain``: the pipelined network (observation reaches the action after N ticks);
* ``skip``: pipeline + temporal skip connections to the head (1 tick);
* ``skip_history``: skip + the last ``history_obs`` observations and ``history_actions`` actions
  in the input (``History``; default k = 2 observations and m = N actions).

MinAtar: PPO-BPTT (:mod:`jaxrl.agents.ppo_pipeline`), the paper's CNN (3×3 convolutions
32-64-64, 512 units, head; N = 5; the default preset trains an MLP, N = 4). Brax (HalfCheetah,
Hopper, Walker2d, Ant through ``envs.make("brax/<name>")``): SAC with sequence replay
(:mod:`jaxrl.agents.sac_pipeline`, actor depth N = 3 of width 256, undelayed critics); its
``undelayed`` reference is ordinary SAC (:mod:`jaxrl.agents.sac`) with the same layers (two
hidden layers of 256) and hyperparameters, except that it updates its actor at every step
(sac.py has no delayed policy update). The undelayed reference runs at the same τ (actions held
alike), so the normalised figure isolates the network's delay. An episode's length is counted
in frames (brax: 1000), so returns are comparable across τ.

Presets: smoke runs one MinAtar game at τ = 2 and no brax run (one brax SAC compilation alone
takes 1-2 minutes on a 2-core CPU, more than the smoke budget). default is sized for a 2-core
CPU (about half an hour): Breakout-MinAtar at τ ∈ {1, 2, 4}, 2·10⁵ steps per run, with the
MLP pipeline (depth 4, width 64, on the flattened frame) in place of the CNN, which runs at
about 1.5 s per PPO update there (the MLP: 0.3-0.7 s), and a short brax run (HalfCheetah,
τ = 1, 3 k steps of which 1 k random: it runs the brax path end to end, but returns this early
are noise, far from the paper's). paper runs all five games × τ ∈ {1, 2, 3, 4} with the CNN and
all four brax tasks at the paper's scale (GPU/TPU; SAC 10⁶ steps per run).

summary.json: ``return/<env>/tau<τ>/<arch>`` (mean over seeds of the final return: the mean
episode return over the last 10% of updates; brax env names keep their ``brax/`` prefix) and
``normalized/<arch>/tau<τ>`` (that return as a fraction of the undelayed reference on the same
environment at the same τ, averaged with equal weight over every environment, games and brax
tasks alike, that ran at that τ); ``normalized_minatar/…`` and ``normalized_brax/…`` are the
same averages within one suite (written for the suites that ran). A plain ratio needs a positive
reference return: brax returns early in training can be negative (HalfCheetah), and their
ratios are then not meaningful; read the raw returns beside them. Plot:
``normalized_return.png`` (one panel per suite).
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import numpy as np

import envs
from envs.wrappers import ActionHold, History
from experiments import harness
from jaxrl.agents import ppo_pipeline, sac, sac_pipeline
from jaxrl.agents.ppo_pipeline import PPOPipelineConfig
from jaxrl.agents.sac_pipeline import SACPipelineConfig

NAME = "temporal_skip"
MINATAR = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
           "SpaceInvaders-MinAtar")
BRAX = ("brax/halfcheetah", "brax/hopper", "brax/walker2d", "brax/ant")
ARCHS = ("undelayed", "plain", "skip", "skip_history")
PAPER_PPO = PPOPipelineConfig(activation="relu")
DEFAULT_PPO = PPOPipelineConfig(activation="relu", network="mlp", total_timesteps=200_000)
PAPER_SAC = SACPipelineConfig()
DEFAULT_SAC = SACPipelineConfig(total_timesteps=3_000, buffer_size=3_000, learning_starts=1_000)


@dataclasses.dataclass(frozen=True)
class Config:
    """Pipelined PPO (MinAtar) and SAC (brax) agents under neuron execution time τ."""

    preset: harness.Preset = "default"
    """smoke (about a minute on CPU), default (a short CPU run), paper (GPU/TPU scale)."""
    envs: tuple[str, ...] = ("Breakout-MinAtar",)
    """MinAtar games to train on."""
    taus: tuple[int, ...] = (1, 2, 4)
    """Neuron execution times τ (environment frames per tick)."""
    brax_envs: tuple[str, ...] = ("brax/halfcheetah",)
    """Brax tasks to train SAC on (empty: none)."""
    brax_taus: tuple[int, ...] = (1,)
    """Neuron execution times τ of the brax runs."""
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
    """PPO-BPTT settings shared by every MinAtar run (env, variant and undelayed set per run)."""
    sac: SACPipelineConfig = DEFAULT_SAC
    """SAC settings shared by every brax run (env and variant set per run; the undelayed
    reference is jaxrl.agents.sac with the same layers and hyperparameters)."""

    def __post_init__(self):
        for field in ("envs", "brax_envs"):
            for name in getattr(self, field):
                if not envs.registry.is_registered(name):
                    raise ValueError(f"Config.{field}: unknown environment {name!r}; see "
                                     "envs.registered()")
        if not self.envs and not self.brax_envs:
            raise ValueError("Config.envs: expected at least one environment in envs or "
                             "brax_envs")
        for field in ("taus", "brax_taus"):
            taus = getattr(self, field)
            if not taus or any(int(t) < 1 for t in taus):
                raise ValueError(f"Config.{field}={taus} is invalid: expected integers >= 1")
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
        "brax_envs": (),  # a brax SAC compilation alone exceeds the smoke budget on a CPU
    },
    "default": {},
    "paper": {"seeds": 5, "envs": MINATAR, "taus": (1, 2, 3, 4), "ppo": PAPER_PPO,
              "brax_envs": BRAX, "brax_taus": (1, 2, 3, 4), "sac": PAPER_SAC},
}


def run_setup(config: Config, env_name: str, tau: int, arch: str):
    """``(PPO config, env, params)`` of one MinAtar run."""
    ppo = dataclasses.replace(config.ppo, env=env_name, variant="plain" if arch in
                              ("undelayed", "plain") else "skip", undelayed=arch == "undelayed")
    env, params = envs.make(env_name)
    env = ActionHold(env, tau)
    if arch == "skip_history":
        env = History(env, config.history_obs, config.history_actions or ppo.actor_depth)
    return ppo, env, params


def undelayed_sac(pipe: SACPipelineConfig) -> sac.SACConfig:
    """Ordinary SAC with the pipelined actor's layers and the same hyperparameters."""
    return sac.SACConfig(
        env=pipe.env, num_envs=pipe.num_envs, total_timesteps=pipe.total_timesteps,
        buffer_size=pipe.buffer_size, batch_size=pipe.batch_size,
        learning_starts=pipe.learning_starts, gradient_steps=pipe.gradient_steps,
        hidden=(pipe.width,) * (pipe.depth - 1), autotune=pipe.autotune, actor_lr=pipe.actor_lr,
        critic_lr=pipe.critic_lr, alpha_lr=pipe.alpha_lr, gamma=pipe.gamma, tau=pipe.tau,
        alpha=pipe.alpha)


def brax_setup(config: Config, env_name: str, tau: int, arch: str):
    """``(SAC config, env, params)`` of one brax run: ``sac.SACConfig`` for the undelayed
    reference, ``SACPipelineConfig`` otherwise."""
    pipe = dataclasses.replace(config.sac, env=env_name,
                               variant="plain" if arch in ("undelayed", "plain") else "skip")
    env, params = envs.make(env_name)
    env = ActionHold(env, tau)
    if arch == "skip_history":
        env = History(env, config.history_obs, config.history_actions or pipe.depth)
    return (undelayed_sac(pipe) if arch == "undelayed" else pipe), env, params


def make_program(agent_config, env, params):
    make = {PPOPipelineConfig: ppo_pipeline.make_train, SACPipelineConfig: sac_pipeline.make_train,
            sac.SACConfig: sac.make_train}[type(agent_config)]
    return make(agent_config, env=env, env_params=params)


def all_setups(config: Config) -> dict:
    """``{(env, τ, arch): (agent config, env, params)}`` of every run, MinAtar then brax."""
    setups = {(e, t, a): run_setup(config, e, t, a)
              for e in config.envs for t in config.taus for a in config.archs}
    setups.update({(e, t, a): brax_setup(config, e, t, a)
                   for e in config.brax_envs for t in config.brax_taus for a in config.archs})
    return setups


def final_return(curve: np.ndarray) -> np.ndarray:
    """Per seed: mean episode return over the last 10% of updates (at least one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(curve[-max(1, len(curve) // 10):], axis=0)


def suites(config: Config) -> dict:
    """``{suite: (envs, taus)}`` of the suites that run."""
    out = {"minatar": (config.envs, config.taus), "brax": (config.brax_envs, config.brax_taus)}
    return {k: v for k, v in out.items() if v[0]}


def normalized(summary: dict, config: Config) -> dict:
    """Per environment and τ, return / undelayed return; averaged with equal weight over every
    environment that ran at τ (``normalized/…``) and within each suite (``normalized_<suite>/…``).
    """
    ratios = {}  # (suite, arch, tau) -> [ratio per env]
    for suite, (names, taus) in suites(config).items():
        for arch in config.archs:
            for tau in taus:
                ratios[suite, arch, tau] = [summary[f"return/{e}/tau{tau}/{arch}"]
                                            / summary[f"return/{e}/tau{tau}/undelayed"]
                                            for e in names]
    out = {}
    for arch in config.archs:
        for tau in sorted({t for _, a, t in ratios if a == arch}):
            both = [r for (_, a, t), rs in ratios.items() if (a, t) == (arch, tau) for r in rs]
            out[f"normalized/{arch}/tau{tau}"] = float(np.mean(both))
    if len(suites(config)) > 1:
        for (suite, arch, tau), rs in ratios.items():
            out[f"normalized_{suite}/{arch}/tau{tau}"] = float(np.mean(rs))
    return out


def suite_key(config: Config, suite: str, arch: str, tau: int) -> str:
    """The summary key of one suite's normalised return (the overall key when only one ran)."""
    prefix = f"normalized_{suite}" if len(suites(config)) > 1 else "normalized"
    return f"{prefix}/{arch}/tau{tau}"


def plot(run: harness.RunDir, summary: dict, config: Config) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = suites(config)
    fig, axes = plt.subplots(1, len(ran), figsize=(5 * len(ran), 3.5), squeeze=False)
    for ax, (suite, (names, taus)) in zip(axes[0], ran.items()):
        for arch in config.archs:
            ax.plot(taus, [summary[suite_key(config, suite, arch, t)] for t in taus],
                    marker="o", label=arch)
        ax.set_xlabel("neuron execution time τ (frames per tick)")
        ax.set_ylabel("return / undelayed return")
        what = ("game" if suite == "minatar" else "task") + "s" * (len(names) > 1)
        agent = "PPO" if suite == "minatar" else "SAC"
        ax.set_title(f"{'MinAtar' if suite == 'minatar' else 'brax'} ({len(names)} {what}, "
                     f"{agent})")
        ax.legend()
    fig.tight_layout()
    run.savefig(fig, "normalized_return.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    setups = all_setups(config)  # validates every run's config first
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: preset={config.preset} seeds={config.seeds} runs={len(setups)} -> "
          f"{run.path}")
    base = jax.random.key(config.seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(np.arange(config.seeds))
    summary, rows = {}, []
    for (env_name, tau, arch), (agent, env, params) in setups.items():
        program = make_program(agent, env, params)
        tag = f"{env_name.replace('/', '-')}_tau{tau}_{arch}"
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
    taus = sorted({t for _, ts in suites(config).values() for t in ts})
    print(harness.format_table([{"arch": a, **{f"tau{t}": summary[f"normalized/{a}/tau{t}"]
                                               for t in taus}} for a in config.archs]))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
