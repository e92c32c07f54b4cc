"""Adaptive Stacking vs frame stacking on the T-maze (Nangue Tasse et al., 2025).

    python -m experiments.adaptive_stacking --preset smoke|default|paper [--seeds N] [--out DIR]

Part 1 (tabular, passive T-maze, L ∈ {5, 10, 20, 50}): Q-learning (α 0.1, γ 0.99, ε 0.1,
random tie-breaking: the reference code's settings) over the stack of an adaptive stack κ=2
(flat action a: move a mod 4, memory a div 4), a frame stack κ=2 and a frame stack κ=L. After
training, the greedy policy plays fresh episodes.

Part 2 (PPO, passive T-maze, L ∈ ``ppo_lengths``): PPO with the MLP, LSTM or Transformer
stack extractor (``jaxrl.networks.stack_extractors``) over adaptive κ=2 (one flat action head,
or with ``--ppo-encoding multi`` two heads: move and memory), frame κ=2 and frame κ=k* (k* = L,
the window that holds the cue until the junction). PPO trains on lengths drawn
from [2, L] per episode (the reference scripts' ``--random_length``); the trained policy plays
its mode on fresh mazes of length L and ``test_scale`` × L (longer than any trained on).
Choice where the reference differs: 8 parallel environments × 128 steps per update (its batch
of 128 as 8 minibatches), 10 epochs, lr 3e-4, no entropy bonus (Stable-Baselines3's defaults).

summary.json (means over seeds): ``tabular/success/<agent>/L<L>`` (greedy success rate),
``tabular/states/<agent>/L<L>`` (table rows visited: the number of distinct stacks),
``memory_regret/tabular/<agent>/L<L>`` (greedy episodes' steps with the seen cue out of the
stack); ``ppo/<extractor>/success/<agent>/L<L>``, ``ppo/<extractor>/test_success/<agent>/L<L>``
(on mazes ``test_scale`` times longer), ``memory_regret/ppo/<extractor>/<agent>/L<L>``;
``input_memory_ratio`` and ``attention_flops_ratio`` (frame κ=k* over adaptive κ=2 at the
largest L: floats in the networks' inputs, and FLOPs of the compiled attention core, both also
per length as ``…/L<L>``); ``popgym/mlp/return/<agent>/<task>`` (part 3: PPO with the MLP
extractor over an adaptive and a frame stack of κ = ``popgym_stack`` on the POPGym CartPoles;
the mode's mean return, POPGym-normalised so that a full episode returns 1). Plots:
``tabular_success.png``, ``ppo_success.png``.

Memory regret counts steps without the cue in the stack, as the paper defines it. An adaptive
stack can succeed with regret > 0: its initial zero frame is a bit of memory (for one cue
keep the zero frame and drop the cue, for the other keep the cue), and PPO finds that code:
success 1.0 with regret ≈ half the corridor.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import envs
from envs.memory import AdaptiveStack, TMaze, TMazeParams, frame_stack, is_cue
from envs.memory.stack import ENCODINGS
from envs.memory.tmaze import NUM_OBS
from experiments import harness
from jaxrl.agents import ppo
from jaxrl.agents.tabular_q import TabularQConfig, greedy_returns, make_train
from jaxrl.evaluate import policy_returns
from jaxrl.networks.stack_extractors import (
    EXTRACTORS,
    HEADS,
    HIDDEN,
    make_stack_actor_critic,
)
from jaxrl.tabular_index import stack_index

NAME = "adaptive_stacking"
AGENTS = ("adaptive_k2", "frame_k2", "frame_kL")
PPO_AGENTS = ("adaptive_k2", "frame_k2", "frame_kstar")
PARTS = ("tabular", "ppo", "popgym")
# The reference's POPGym runs (scripts/run_ppo_popgym.sh): hard position/velocity-only CartPole
# (600 steps) and the default noisy position-only CartPole (σ 0.1, 200 steps).
POPGYM_TASKS = {"PositionOnlyCartPole": "hard", "VelocityOnlyCartPole": "hard",
                "NoisyPositionOnlyCartPole": "easy"}
MEMORY_PPO = ppo.PPOConfig(
    env="TMaze", num_envs=8, num_steps=128, total_timesteps=300_000, update_epochs=10,
    num_minibatches=8, lr=3e-4, ent_coef=0.0, anneal_lr=False,
)
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
    """Independent seeds of the tabular runs, trained as one vmapped program."""
    parts: tuple[str, ...] = PARTS
    """Which parts to run: tabular, ppo, popgym."""
    ppo_lengths: tuple[int, ...] = (10, 30)
    """Corridor lengths of the PPO runs."""
    extractors: tuple[str, ...] = EXTRACTORS
    """PPO feature extractors over the stack: mlp, lstm, transformer."""
    ppo_agents: tuple[str, ...] = PPO_AGENTS
    """Which stacks PPO compares: adaptive_k2, frame_k2, frame_kstar."""
    ppo_seeds: int = 3
    """Independent seeds of each PPO run, trained as one vmapped program."""
    test_scale: int = 2
    """PPO policies are also tested on mazes this many times longer than trained."""
    random_length: bool = True
    """PPO trains on lengths drawn from [2, L] each episode (the reference scripts'
    --random_length); evaluation uses L and test_scale × L exactly."""
    ppo_encoding: str = "flat"
    """Action encoding of PPO's adaptive stack: flat (one head, move a mod 4, memory a div 4)
    or multi (two heads, one per action)."""
    ppo: ppo.PPOConfig = MEMORY_PPO
    """PPO hyperparameters (its env field is ignored)."""
    popgym_tasks: tuple[str, ...] = tuple(POPGYM_TASKS)
    """POPGym tasks of part 3 (levels as the reference's runs)."""
    popgym_stack: int = 4
    """κ of the adaptive and frame stacks compared on the POPGym tasks."""
    popgym_steps: int = 300_000
    """PPO environment steps per POPGym run."""
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
        if self.tabular_steps < 1 or self.seeds < 1 or self.ppo_seeds < 1:
            raise ValueError("Config.tabular_steps, Config.seeds and Config.ppo_seeds must be "
                             ">= 1")
        for field, allowed in (("parts", PARTS), ("extractors", EXTRACTORS),
                               ("ppo_agents", PPO_AGENTS)):
            bad = sorted(set(getattr(self, field)) - set(allowed))
            if bad or not getattr(self, field):
                raise ValueError(f"Config.{field}: unknown {bad}; expected some of {allowed}")
        if not self.ppo_lengths or any(length < 2 for length in self.ppo_lengths):
            raise ValueError(f"Config.ppo_lengths={self.ppo_lengths} is invalid: expected "
                             "lengths >= 2")
        bad = sorted(set(self.popgym_tasks) - set(POPGYM_TASKS))
        if bad:
            raise ValueError(f"Config.popgym_tasks: unknown {bad}; expected some of "
                             f"{tuple(POPGYM_TASKS)}")
        if self.popgym_stack < 1 or self.popgym_steps < 1:
            raise ValueError("Config.popgym_stack and Config.popgym_steps must be >= 1")
        if self.ppo_encoding not in ENCODINGS:
            raise ValueError(f"Config.ppo_encoding={self.ppo_encoding!r} is invalid: expected "
                             f"one of {ENCODINGS}")
        if self.test_scale < 1:
            raise ValueError(f"Config.test_scale={self.test_scale} is invalid: expected >= 1")


PRESETS = {
    "smoke": {"lengths": (5,), "tabular_steps": 20_000, "seeds": 2, "ppo_lengths": (6,),
              "extractors": ("mlp",), "ppo_seeds": 1,
              "popgym_tasks": ("PositionOnlyCartPole",), "popgym_steps": 20_480,
              "ppo": dataclasses.replace(MEMORY_PPO, total_timesteps=40_960)},
    # 30 CPU minutes: the LSTM and Transformer extractors run at 0.2-2 k steps/s on a 2-core
    # CPU (MLP 8-10 k), so the default trains the MLP only; the paper preset trains all three.
    "default": {"ppo_seeds": 2, "extractors": ("mlp",), "ppo_lengths": (10, 30, 100),
                "ppo": dataclasses.replace(MEMORY_PPO, total_timesteps=200_000)},
    "paper": {"seeds": 30, "ppo_lengths": (10, 100, 1000), "ppo_seeds": 5,
              "ppo": dataclasses.replace(MEMORY_PPO, total_timesteps=1_000_000)},
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


def ppo_env(agent: str, length: int, encoding: str = "flat"):
    if agent == "adaptive_k2":
        return AdaptiveStack(TMaze(), 2, encoding, relevant=is_cue)
    return frame_stack(TMaze(), 2 if agent == "frame_k2" else length, relevant=is_cue)


def evaluate_policies(policies, env, length: int, keys):
    """Per seed: success rate and memory regret of the policy's mode on maze length ``length``."""
    params = TMazeParams(length=length)

    def one(policy, key):
        return policy_returns(policy, env, params, jax.random.fold_in(key, length),
                              EVAL_EPISODES, length + 2, sum_info=("memory_regret",))

    returns, sums = jax.jit(jax.vmap(one))(policies, keys)
    success = np.mean(np.asarray(returns) > 0, axis=1)
    return success, np.asarray(sums["memory_regret"]).mean(axis=1)


def attention_flops(num_slots: int) -> float:
    """FLOPs of the compiled attention core (scores and weighted values) over ``num_slots``."""
    head_dim = HIDDEN // HEADS
    x = jax.ShapeDtypeStruct((1, num_slots, HEADS, head_dim), jnp.float32)
    compiled = jax.jit(lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True)
                       ).lower(x, x, x).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost["flops"])


def memory_ratios(config: Config) -> dict:
    summary = {}
    for length in config.ppo_lengths:
        params = TMazeParams(length=length)
        adaptive = ppo_env("adaptive_k2", length).observation_space(params).shape
        window = ppo_env("frame_kstar", length).observation_space(params).shape
        summary[f"input_memory_ratio/L{length}"] = float(np.prod(window) / np.prod(adaptive))
        summary[f"attention_flops_ratio/L{length}"] = attention_flops(window[0]) / \
            attention_flops(adaptive[0])
    longest = max(config.ppo_lengths)
    summary["input_memory_ratio"] = summary[f"input_memory_ratio/L{longest}"]
    summary["attention_flops_ratio"] = summary[f"attention_flops_ratio/L{longest}"]
    return summary


def run_ppo(config: Config, run: harness.RunDir, keys) -> tuple[dict, list]:
    summary, rows = {}, []
    for length in config.ppo_lengths:
        for extractor in config.extractors:
            for agent in config.ppo_agents:
                env = ppo_env(agent, length, config.ppo_encoding)
                train_params = TMazeParams(length=length, random_length=config.random_length)
                program = ppo.make_train(config.ppo, make_stack_actor_critic(extractor), env,
                                         train_params)
                tag = f"ppo/{extractor}/{agent}/L{length}"
                try:
                    state, _, timing = harness.train_seeds(program, keys, run,
                                                           tag.replace("/", "_"), chunks=4)
                except harness.TrainingDiverged as err:
                    raise SystemExit(f"{NAME}: {err}") from None
                success, regret = evaluate_policies(state.policy, env, length, keys)
                test_length = length * config.test_scale
                test_success, _ = evaluate_policies(state.policy, env, test_length, keys)
                summary[f"ppo/{extractor}/success/{agent}/L{length}"] = float(success.mean())
                summary[f"ppo/{extractor}/test_success/{agent}/L{length}"] = \
                    float(test_success.mean())
                summary[f"memory_regret/ppo/{extractor}/{agent}/L{length}"] = float(regret.mean())
                rows.append({"L": length, "extractor": extractor, "agent": agent,
                             "success": float(success.mean()),
                             "success_std": float(success.std()),
                             f"success@{config.test_scale}L": float(test_success.mean()),
                             "memory_regret": float(regret.mean()),
                             "steps/s": timing.env_steps_per_second})
                print(harness.format_table(rows[-1:]))
    return summary, rows


def run_popgym(config: Config, run: harness.RunDir, keys) -> tuple[dict, list]:
    """Part 3: PPO (MLP extractor) over an adaptive and a frame stack of κ on POPGym tasks."""
    summary, rows = {}, []
    k = config.popgym_stack
    hp = dataclasses.replace(config.ppo, total_timesteps=config.popgym_steps)
    for task in config.popgym_tasks:
        base, params = envs.make(task, level=POPGYM_TASKS[task])
        for agent, env in ((f"adaptive_k{k}", AdaptiveStack(base, k, "flat")),
                           (f"frame_k{k}", frame_stack(base, k))):
            program = ppo.make_train(hp, make_stack_actor_critic("mlp"), env, params)
            tag = f"popgym_{task}_{agent}"
            try:
                state, _, timing = harness.train_seeds(program, keys, run, tag, chunks=4)
            except harness.TrainingDiverged as err:
                raise SystemExit(f"{NAME}: {err}") from None

            def play(policy, key, env=env, params=params):
                return policy_returns(policy, env, params, key, EVAL_EPISODES,
                                      int(params.max_episode_length) + 1)

            returns, _ = jax.jit(jax.vmap(play))(state.policy, keys)
            value = np.nanmean(np.asarray(returns), axis=1)
            summary[f"popgym/mlp/return/{agent}/{task}"] = float(value.mean())
            rows.append({"task": task, "agent": agent, "return": float(value.mean()),
                         "return_std": float(value.std()),
                         "steps/s": timing.env_steps_per_second})
            print(harness.format_table(rows[-1:]))
    return summary, rows


def plot_ppo(run: harness.RunDir, rows: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    extractors = list(dict.fromkeys(r["extractor"] for r in rows))
    fig, axes = plt.subplots(1, len(extractors), figsize=(4.2 * len(extractors), 3.4),
                             squeeze=False)
    for ax, extractor in zip(axes.flat, extractors):
        mine = [r for r in rows if r["extractor"] == extractor]
        agents = list(dict.fromkeys(r["agent"] for r in mine))
        for i, agent in enumerate(agents):
            pts = [r for r in mine if r["agent"] == agent]
            marker, size = "osD^v"[i % 5], max(3, 9 - 2 * i)  # overlapping agents stay visible
            line = ax.errorbar([r["L"] for r in pts], [r["success"] for r in pts],
                               yerr=[r["success_std"] for r in pts], marker=marker,
                               markersize=size, capsize=3, label=f"{agent} at L")
            test = next(k for k in pts[0] if k.startswith("success@"))
            ax.plot([r["L"] for r in pts], [r[test] for r in pts], linestyle="--",
                    marker=marker, markersize=size, fillstyle="none",
                    color=line[0].get_color(), label=f"{agent} at {test[len('success@'):]}")
        ax.set_xscale("log")
        lengths = sorted({r["L"] for r in mine})
        ax.set_xticks(lengths, [str(length) for length in lengths], minor=False)
        ax.set_xticks([], minor=True)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("corridor length L")
        ax.set_title(f"PPO, {extractor} extractor")
    axes.flat[0].set_ylabel("success rate (policy mode)")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    run.savefig(fig, "ppo_success.png")
    plt.close(fig)


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
    summary = {}
    if "tabular" in config.parts:
        tabular, rows = run_tabular(config, run, keys)
        summary.update(tabular)
        plot(run, rows)
        print(harness.format_table(rows))
    if "ppo" in config.parts:
        summary.update(memory_ratios(config))
        ppo_keys = jax.vmap(lambda i: jax.random.fold_in(base, 1000 + i))(
            np.arange(config.ppo_seeds))
        learned, rows = run_ppo(config, run, ppo_keys)
        summary.update(learned)
        plot_ppo(run, rows)
        print(harness.format_table(rows))
    if "popgym" in config.parts:
        popgym_keys = jax.vmap(lambda i: jax.random.fold_in(base, 2000 + i))(
            np.arange(config.ppo_seeds))
        learned, rows = run_popgym(config, run, popgym_keys)
        summary.update(learned)
        print(harness.format_table(rows))
    run.write_summary(summary)
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
