"""RL throughput, side by side in one process: ours against what a user would otherwise run.

    python -m benchmarks.rl_throughput [--quick] [--out FILE]

1. Environment steps/s of our wrapped environments (``EpisodeStats(AutoReset(env))``) against
   raw gymnax (whose ``step`` auto-resets) with random actions, ``jit(scan(vmap(step)))``, at 1,
   64 and 1024 parallel environments: the wrapper overhead.
2. PPO training on CartPole-v1 (4 envs × 128 steps, 4 epochs, 4 minibatches, 5e5 steps) against
   a minimal purejaxrl-style PPO (``benchmarks.minimal_ppo``) and Stable-Baselines3's PPO with
   the same hyperparameters: env steps/s and the return reached.
3. PPO on Breakout-MinAtar with 64 envs and a small MLP for 1e6 steps.

Compile time is reported separately from run time; every timing is the median of repeats.
Writes a JSON file (default ``benchmarks/results/rl_throughput.json``) and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time

import jax
import numpy as np

import envs
from experiments.harness.files import write_json
from experiments.harness.rundir import format_table
from jaxrl.agents.ppo import PPOConfig, make_train


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
    for label, env in (("gymnax", raw), ("ours", ours)):
        fn = _rollout_fn(env.step, env.reset, space, params, num_envs, num_steps)
        key = jax.random.key(0)
        t0 = time.perf_counter()
        jax.block_until_ready(fn(key))
        out[f"{label}_compile_s"] = time.perf_counter() - t0
        out[f"{label}_steps_per_s"] = num_envs * num_steps / _median_time(lambda: fn(key),
                                                                            repeats)
    out["ratio_ours_over_gymnax"] = out["ours_steps_per_s"] / out["gymnax_steps_per_s"]
    return out


def time_training(train, returns_of, total_timesteps: int, repeats: int) -> dict:
    """Compile ``train(key)`` once, run it ``repeats`` times: compile and median run time,
    env steps/s and the final return (``returns_of(output)`` is the per-update return curve)."""
    from experiments.ppo_baseline import final_return

    key = jax.random.key(0)
    t0 = time.perf_counter()
    compiled = jax.jit(train).lower(key).compile()
    compile_s = time.perf_counter() - t0
    outputs = []

    def once():
        outputs.append(compiled(key))
        return outputs[-1]

    run_s = _median_time(once, repeats)
    final = float(final_return(np.asarray(returns_of(outputs[-1]))))
    return {"compile_s": compile_s, "run_s": run_s,
            "steps_per_s": total_timesteps / run_s, "final_return": final}


def ppo_ours(config: PPOConfig, repeats: int) -> dict:
    return time_training(make_train(config), lambda out: out[1]["episode_return"],
                         config.total_timesteps, repeats)


def ppo_minimal(config: PPOConfig, repeats: int) -> dict:
    """The purejaxrl-style single-file PPO on the same hyperparameters."""
    from benchmarks.minimal_ppo import make_train as make_minimal

    train = make_minimal(
        config.env, config.num_envs, config.num_steps, config.total_timesteps,
        config.update_epochs, config.num_minibatches, config.lr, config.gamma,
        config.gae_lambda, config.clip_eps, config.ent_coef, config.vf_coef,
        config.max_grad_norm, config.hidden[0])
    return time_training(train, lambda out: out, config.total_timesteps, repeats)


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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer steps and repeats (a check that the benchmark runs)")
    parser.add_argument("--sb3-steps", type=int, default=100_000,
                        help="Stable-Baselines3 PPO steps (it runs ~2 orders slower)")
    parser.add_argument("--out", default="benchmarks/results/rl_throughput.json")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    env_steps = 100 if args.quick else 1000

    rows = []
    for name in ("CartPole-v1", "Breakout-MinAtar"):
        for n in (1, 64, 1024):
            rows.append(env_throughput(name, n, env_steps, repeats))
    print(format_table(rows, ["env", "num_envs", "gymnax_steps_per_s", "ours_steps_per_s",
                              "ratio_ours_over_gymnax"]))

    cartpole = PPOConfig(total_timesteps=50_000 if args.quick else 500_000)
    ours = ppo_ours(cartpole, repeats)
    minimal = ppo_minimal(cartpole, repeats)
    sb3 = ppo_sb3(cartpole, 4096 if args.quick else args.sb3_steps)
    breakout = PPOConfig(env="Breakout-MinAtar", num_envs=64, num_steps=128,
                         num_minibatches=8, total_timesteps=65_536 if args.quick else 1_000_000,
                         hidden=(64, 64), activation="relu", lr=5e-4)
    ours_breakout = ppo_ours(breakout, 1 if args.quick else 2)
    ppo_rows = [
        {"run": "ours CartPole PPO", **{k: ours[k] for k in ("steps_per_s", "final_return",
                                                             "compile_s", "run_s")}},
        {"run": "minimal purejaxrl-style CartPole PPO",
         **{k: minimal[k] for k in ("steps_per_s", "final_return", "compile_s", "run_s")}},
        {"run": "SB3 CartPole PPO", "steps_per_s": sb3["steps_per_s"],
         "final_return": sb3["final_return"], "compile_s": 0.0, "run_s": sb3["run_s"]},
        {"run": "ours Breakout-MinAtar PPO (MLP)",
         **{k: ours_breakout[k] for k in ("steps_per_s", "final_return", "compile_s",
                                          "run_s")}},
    ]
    print(format_table(ppo_rows))
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "jax": jax.__version__, "devices": [str(d) for d in jax.devices()]},
        "quick": args.quick,
        "env_throughput": rows,
        "ppo_cartpole": {"ours": ours, "minimal": minimal, "sb3": sb3,
                         "config": dataclasses.asdict(cartpole),
                         "ratio_steps_per_s_ours_over_minimal":
                             ours["steps_per_s"] / minimal["steps_per_s"],
                         "ratio_steps_per_s_ours_over_sb3":
                             ours["steps_per_s"] / sb3["steps_per_s"]},
        "ppo_breakout_mlp": {"ours": ours_breakout, "config": dataclasses.asdict(breakout)},
    }
    print(f"PPO CartPole steps/s ours/minimal: "
          f"{result['ppo_cartpole']['ratio_steps_per_s_ours_over_minimal']:.2f}x")
    print(f"PPO CartPole steps/s ours/SB3: "
          f"{result['ppo_cartpole']['ratio_steps_per_s_ours_over_sb3']:.1f}x")
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
