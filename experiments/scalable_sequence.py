"""Part 3 of :mod:`experiments.scalable_mdps`: mixing times of MinAtar task sequences.

Riemer et al. (NeurIPS 2022), §3, show that the mixing time of pre-trained policies grows with
the number of tasks in a sequence of Atari games and with the time spent in each. Here MinAtar
games stand in for Atari: a policy is trained on each game (PPO with the MinAtar settings of
``experiments.ppo_baseline``, or uniformly random actions), its episode lengths are measured by
rollouts, and the mixing time of each game and of cyclic sequences of the first ``K`` games
switched every ``T`` steps follows from the renewal chains of :mod:`jaxrl.mdp.renewal` (see
there for the construction and the choices where the paper is silent).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import envs
from jaxrl import mdp
from jaxrl.agents import ppo
from jaxrl.distributions import Categorical

POLICIES = ("ppo", "random")


def length_counts(env, params, act, key, num_envs: int, num_steps: int) -> np.ndarray:
    """Histogram (index = length, up to ``num_steps``) of the episodes that ``act(key, obs)``
    (one observation → one action) finishes in ``num_envs × num_steps`` steps."""
    env = envs.EpisodeStats(envs.AutoReset(env))
    k_reset, k_run = jax.random.split(key)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k_reset, num_envs),
                                                        params)

    def step(carry, key):
        obs, state, counts = carry
        k_act, k_env = jax.random.split(key)
        action = jax.vmap(act)(jax.random.split(k_act, num_envs), obs)
        obs, state, _, _, _, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(k_env, num_envs), state, action, params)
        lengths = jnp.minimum(info["returned_episode_length"], num_steps)
        counts = counts.at[lengths].add(info["returned_episode"].astype(jnp.float32))
        return (obs, state, counts), None

    counts = jnp.zeros((num_steps + 1,), jnp.float32)
    (_, _, counts), _ = jax.jit(lambda c, k: jax.lax.scan(step, c, k))(
        (obs, state, counts), jax.random.split(k_run, num_steps))
    return np.asarray(counts, np.float64)


def trained_actor(game: str, train_steps: int, key, minatar_ppo: ppo.PPOConfig):
    """``(act, ret)``: ``act(key, obs)`` samples the policy PPO learns on ``game`` in
    ``train_steps`` steps; ``ret`` is its mean training return over the last quarter."""
    config = dataclasses.replace(minatar_ppo, env=game, total_timesteps=train_steps)
    program = ppo.make_train(config)
    final, metrics = jax.jit(program)(key)
    policy = final.policy
    pstate = policy.initial_state()

    def act(key, obs):
        _, logits, _ = policy(pstate, obs, jnp.asarray(True))
        return Categorical(logits).sample(key)

    returns = np.asarray(metrics["episode_return"])
    tail = returns[-max(1, len(returns) // 4):]  # a quarter: Freeway's episodes last 2500 steps
    return act, float(np.nanmean(tail)) if np.isfinite(tail).any() else float("nan")


def random_actor(env, params):
    space = env.action_space(params)
    return lambda key, obs: space.sample(key)


def loglog_slope(xs, ys) -> float:
    """Slope of log ys against log xs over the finite positive ys (NaN with fewer than two)."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    ok = np.isfinite(ys) & (ys > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(xs[ok]), np.log(ys[ok]), 1)[0])


def study(games, tasks, periods, policy: str, train_steps: int, num_bins: int, eps: float,
          key, minatar_ppo: ppo.PPOConfig, rollout_steps: int = 10_000, num_envs: int = 32):
    """Per game: episode-length histogram and t_mix; per (K, T): t_mix of the sequence of the
    first K games. Returns ``(summary, rows, tmix)``, ``tmix[K, T]``."""
    if policy not in POLICIES:
        raise ValueError(f"policy={policy!r} is invalid: expected one of {POLICIES}")
    summary, chains = {}, []
    for i, game in enumerate(games):
        env, params = envs.make(game)
        k_train, k_roll = jax.random.split(jax.random.fold_in(key, i))
        if policy == "ppo":
            act, trained = trained_actor(game, train_steps, k_train, minatar_ppo)
            summary[f"sequence_policy_return/{game}"] = trained
        else:
            act = random_actor(env, params)
        counts = length_counts(env, params, act, k_roll, num_envs, rollout_steps)
        if counts[1:].sum() == 0:
            raise RuntimeError(f"{game}: no episode finished in {rollout_steps} steps; raise "
                               "the rollout length")
        chain = mdp.age_chain(counts, num_bins)
        chains.append(chain)
        lengths = np.arange(len(counts))
        summary[f"episode_length/{game}"] = float((counts * lengths).sum() / counts.sum())
        summary[f"tmix_sequence/{game}"] = float(
            mdp.mixing_time(jnp.asarray(chain[0], jnp.float32), eps))
        print(f"  {game}: mean episode length {summary[f'episode_length/{game}']:.1f}, "
              f"t_mix {summary[f'tmix_sequence/{game}']:.0f}", flush=True)
    tmix = {}
    for k in tasks:
        for t in periods:
            p = mdp.task_sequence_chain(chains[:k], t)
            tmix[k, t] = float(mdp.mixing_time(jnp.asarray(p, jnp.float32), eps))
            summary[f"tmix_sequence/K{k}/T{t}"] = tmix[k, t]
    multi = [k for k in tasks if k > 1]  # slopes need two or more points
    for t in periods if len(multi) > 1 else ():
        summary[f"tmix_sequence_loglog_slope/tasks/T{t}"] = loglog_slope(
            multi, [tmix[k, t] for k in multi])
    for k in multi if len(periods) > 1 else ():
        summary[f"tmix_sequence_loglog_slope/period/K{k}"] = loglog_slope(
            periods, [tmix[k, t] for t in periods])
    rows = [{"K": k, **{f"T{t}": tmix[k, t] for t in periods}} for k in tasks]
    return summary, rows, tmix


def plot(ax, tasks, periods, tmix) -> None:
    for i, t in enumerate(periods):
        ax.plot(tasks, [tmix[k, t] for k in tasks], "o-", color=f"C{i}", label=f"T = {t}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(tasks, [str(k) for k in tasks])  # the K themselves, not log-axis minor labels
    ax.minorticks_off()
    ax.set_xlabel("MinAtar games in the sequence (K)")
    ax.set_ylabel("t_mix (steps)")
    ax.set_title("task sequences", fontsize=9)
    ax.legend(fontsize=7)
