"""RL throughput, side by side in one process: ours against what a user would otherwise run.

    python -m benchmarks.rl_throughput [--quick] [--out FILE] [--env-sizes 1,64,1024]
        [--ppo-envs 4] [--breakout-envs 64] [--no-sb3]

1. Environment steps/s of our wrapped environments (``EpisodeStats(AutoReset(env))``) against
   raw gymnax (whose ``step`` auto-resets) with random actions, ``jit(scan(vmap(step)))``, at 1,
   64 and 1024 parallel environments: the wrapper overhead.
2. PPO training on CartPole-v1 (4 envs × 128 steps, 4 epochs, 4 minibatches, 5e5 steps) against
   a minimal purejaxrl-style PPO (``benchmarks.minimal_ppo``) and Stable-Baselines3's PPO with
   the same hyperparameters: env steps/s and the return reached.
3. PPO on Breakout-MinAtar with 64 envs and a small MLP for 1e6 steps.

On an accelerator, ``--ppo-envs 4,256,2048 --breakout-envs 64,1024`` adds the wide-batch rows
that a GPU is for (each wider run keeps at least 20 updates); SB3 runs only where it is
installed (``--no-sb3`` skips it).

Compile time is reported separately from run time; every timing is the median of repeats, and
the repeats of what is compared (raw vs wrapped environment, the two CartPole PPOs)
alternate so that a slow spell of the machine falls on both.
Writes a JSON file (default ``benchmarks/results/rl_throughput.json``) and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import jax
import numpy as np

import envs
from benchmarks.timing import interleaved_medians
from experiments.harness.files import write_json
from experiments.harness.rundir import format_table
from jaxrl.agents.ppo import PPOConfig, make_train


def _rollout_fn(step, reset, space, params, num_envs: int, num_steps: int):
    def run(key):
        k0, k1 = jax.random.split(key)
        _, state = jax.vmap(reset, in_axes=(0, None))(jax.random.split(k0, num_envs), params)

        def body(state, key):
            ka, ks = jax.random.split(key)
            actions = jax.vmap(space.sample)(jax.random.split(ka, num_envs))
            out = jax.vmap(step, in_axes=(0, 0, 0, None))(
                jax.random.split(ks, num_envs), state, actions, params)
            return out[1], out[2].sum()

        _, rewards = jax.lax.scan(body, state, jax.random.split(k1, num_steps))
        return rewards.sum()

    return jax.jit(run)


def env_throughput(name: str, num_envs: int, num_steps: int, repeats: int) -> dict:
    import gymnax

    raw, params = gymnax.make(name)
    ours = envs.EpisodeStats(envs.AutoReset(envs.make(name)[0]))
    space = raw.action_space(params)
    out = {"env": name, "num_envs": num_envs}
    key = jax.random.key(0)
    runs = {}
    for label, env in (("gymnax", raw), ("ours", ours)):
        fn = _rollout_fn(env.step, env.reset, space, params, num_envs, num_steps)
        t0 = time.perf_counter()
        jax.block_until_ready(fn(key))
        out[f"{label}_compile_s"] = time.perf_counter() - t0
        runs[label] = lambda fn=fn: jax.block_until_ready(fn(key))
    for label, seconds in zip(runs, interleaved_medians(list(runs.values()), repeats)):
        out[f"{label}_steps_per_s"] = num_envs * num_steps / seconds
    out["ratio_ours_over_gymnax"] = out["ours_steps_per_s"] / out["gymnax_steps_per_s"]
    return out


class Training:
    """``train(key)`` compiled once (``compile_s``); ``run()`` executes it and keeps the output."""

    def __init__(self, train, returns_of, total_timesteps: int):
        self.key = jax.random.key(0)
        t0 = time.perf_counter()
        self.compiled = jax.jit(train).lower(self.key).compile()
        self.compile_s = time.perf_counter() - t0
        self.returns_of, self.total_timesteps = returns_of, total_timesteps
        self.output = None

    def run(self):
        self.output = self.compiled(self.key)
        return self.output

    def result(self, run_s: float) -> dict:
        from experiments.ppo_baseline import final_return

        final = float(final_return(np.asarray(self.returns_of(self.output))))
        return {"compile_s": self.compile_s, "run_s": run_s,
                "steps_per_s": self.total_timesteps / run_s, "final_return": final}


def time_interleaved(trainings: list[Training], repeats: int) -> list[dict]:
    """Each training's result with the median of its run times, the repeats alternating."""
    runs = [lambda t=t: jax.block_until_ready(t.run()) for t in trainings]
    return [t.result(s) for t, s in zip(trainings, interleaved_medians(runs, repeats))]


def ppo_ours(config: PPOConfig) -> Training:
    return Training(make_train(config), lambda out: out[1]["episode_return"],
                    config.total_timesteps)


def ppo_minimal(config: PPOConfig) -> Training:
    """The purejaxrl-style single-file PPO on the same hyperparameters."""
    from benchmarks.minimal_ppo import make_train as make_minimal

    train = make_minimal(
        config.env, config.num_envs, config.num_steps, config.total_timesteps,
        config.update_epochs, config.num_minibatches, config.lr, config.gamma,
        config.gae_lambda, config.clip_eps, config.ent_coef, config.vf_coef,
        config.max_grad_norm, config.hidden[0])
    return Training(train, lambda out: out, config.total_timesteps)


def ppo_sb3(config: PPOConfig, total_timesteps: int) -> dict:
    """Stable-Baselines3 PPO with the same hyperparameters (torch on the CPU)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    torch.set_num_threads(os.cpu_count() or 1)
    vec = make_vec_env("CartPole-v1", n_envs=config.num_envs, seed=0)
    model = PPO(
        "MlpPolicy", vec, n_steps=config.num_steps,
        batch_size=config.num_envs * config.num_steps // config.num_minibatches,
        n_epochs=config.update_epochs, learning_rate=lambda f: f * config.lr,
        gamma=config.gamma, gae_lambda=config.gae_lambda, clip_range=config.clip_eps,
        ent_coef=config.ent_coef, vf_coef=config.vf_coef, max_grad_norm=config.max_grad_norm,
        policy_kwargs=dict(net_arch=list(config.hidden), activation_fn=torch.nn.Tanh),
        seed=0, verbose=0, device="cpu",
    )
    t0 = time.perf_counter()
    model.learn(total_timesteps=total_timesteps)
    run_s = time.perf_counter() - t0
    mean_return, _ = evaluate_policy(model, vec, n_eval_episodes=20)
    return {"run_s": run_s, "steps_per_s": total_timesteps / run_s,
            "final_return": float(mean_return), "total_timesteps": total_timesteps}


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def _ppo_row(run: str, result: dict, num_envs: int) -> dict:
    return {"run": run, "num_envs": num_envs,
            **{k: result[k] for k in ("steps_per_s", "final_return", "compile_s", "run_s")}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer steps and repeats (a check that the benchmark runs)")
    parser.add_argument("--sb3-steps", type=int, default=100_000,
                        help="Stable-Baselines3 PPO steps (it runs ~2 orders slower)")
    parser.add_argument("--no-sb3", action="store_true", help="skip Stable-Baselines3")
    parser.add_argument("--env-sizes", type=_ints, default=(1, 64, 1024),
                        help="parallel environments for the env-throughput rows")
    parser.add_argument("--ppo-envs", type=_ints, default=(4,),
                        help="CartPole PPO parallel environments (4 is the paper config)")
    parser.add_argument("--breakout-envs", type=_ints, default=(64,),
                        help="Breakout-MinAtar PPO parallel environments")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats per row (default 3, 1 with --quick)")
    parser.add_argument("--out", default="benchmarks/results/rl_throughput.json")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats={args.repeats}: expected an integer >= 1")
    repeats = args.repeats or (1 if args.quick else 3)
    env_steps = 100 if args.quick else 1000

    rows = []
    for name in ("CartPole-v1", "Breakout-MinAtar"):
        for n in args.env_sizes:
            rows.append(env_throughput(name, n, env_steps, repeats))
            print(format_table(rows[-1:], ["env", "num_envs", "gymnax_steps_per_s",
                                           "ours_steps_per_s", "ratio_ours_over_gymnax"]),
                  flush=True)
    print(format_table(rows, ["env", "num_envs", "gymnax_steps_per_s", "ours_steps_per_s",
                              "ratio_ours_over_gymnax"]))

    base_steps = 50_000 if args.quick else 500_000
    ppo_rows, cartpole_runs = [], []
    for n in args.ppo_envs:
        config = PPOConfig(num_envs=n, total_timesteps=max(base_steps, 20 * n * 128))
        ours, minimal = time_interleaved([ppo_ours(config), ppo_minimal(config)], repeats)
        cartpole_runs.append({"ours": ours, "minimal": minimal,
                              "config": dataclasses.asdict(config),
                              "ratio_steps_per_s_ours_over_minimal":
                                  ours["steps_per_s"] / minimal["steps_per_s"]})
        ppo_rows += [_ppo_row("ours CartPole PPO", ours, n),
                     _ppo_row("minimal purejaxrl-style CartPole PPO", minimal, n)]
        print(format_table(ppo_rows[-2:]), flush=True)
    sb3 = None
    if not args.no_sb3:
        try:
            sb3 = ppo_sb3(PPOConfig(), 4096 if args.quick else args.sb3_steps)
        except ImportError as err:  # the bench extra is not installed
            print(f"skipping Stable-Baselines3: {err}")
    if sb3 is not None:
        ppo_rows.append({"run": "SB3 CartPole PPO", "num_envs": PPOConfig().num_envs,
                         "steps_per_s": sb3["steps_per_s"], "final_return": sb3["final_return"],
                         "compile_s": 0.0, "run_s": sb3["run_s"]})
    breakout_runs = []
    for n in args.breakout_envs:
        breakout = PPOConfig(env="Breakout-MinAtar", num_envs=n, num_steps=128,
                             num_minibatches=8,
                             total_timesteps=max(65_536 if args.quick else 1_000_000,
                                                 20 * n * 128),
                             hidden=(64, 64), activation="relu", lr=5e-4)
        ours_breakout, = time_interleaved([ppo_ours(breakout)],
                                          args.repeats or (1 if args.quick else 2))
        breakout_runs.append({"ours": ours_breakout, "config": dataclasses.asdict(breakout)})
        ppo_rows.append(_ppo_row("ours Breakout-MinAtar PPO (MLP)", ours_breakout, n))
    print(format_table(ppo_rows))
    cartpole = cartpole_runs[0]
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "jax": jax.__version__, "devices": [str(d) for d in jax.devices()]},
        "quick": args.quick,
        "env_throughput": rows,
        "ppo_cartpole": {**cartpole, "sb3": sb3,
                         "ratio_steps_per_s_ours_over_sb3":
                             (cartpole["ours"]["steps_per_s"] / sb3["steps_per_s"]
                              if sb3 else None)},
        "ppo_cartpole_by_num_envs": cartpole_runs,
        "ppo_breakout_mlp": breakout_runs[0],
        "ppo_breakout_mlp_by_num_envs": breakout_runs,
    }
    for run in cartpole_runs:
        print(f"PPO CartPole ({run['config']['num_envs']} envs) steps/s ours/minimal: "
              f"{run['ratio_steps_per_s_ours_over_minimal']:.2f}x")
    if sb3 is not None:
        print(f"PPO CartPole steps/s ours/SB3: "
              f"{result['ppo_cartpole']['ratio_steps_per_s_ours_over_sb3']:.1f}x")
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
