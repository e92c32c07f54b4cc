"""Part (2) of :mod:`experiments.realtime_staggered`: DQN learning in real time.

Riemer et al. (ICLR 2025), §5: an agent whose inference takes ``D`` frames plays a game that
advances every frame (:class:`envs.realtime.Realtime`). ``sequential``: one inference process,
so the agent acts on one frame in ``D + 1`` and the default action fills the rest.
``staggered``: ``N = D`` processes staggered by the maximum inference time (Algorithm 1), so a
fresh action, computed on the observation of ``D`` frames earlier, acts on every frame.
Baselines: the game played by the default action (``noop``) and by uniform random actions.

Choices where the paper is silent or differs (CPU budget):

* The learner is our DQN (``jaxrl.agents.dqn``) on the realtime environment, storing the action
  the environment applied (``info["applied_action"]``); 1-step targets rather than the paper's
  3-step returns; the MinAtar CNN torso rather than the IMPALA CNN (``network`` selects
  ``impala_cnn`` with ``width``, the paper's model-size knob); the inference time ``D`` is
  imposed, not measured from the network (``frames_for_params`` maps a parameter count to ``D``
  on the paper's Game Boy table).
* The auto-reset sits inside the realtime wrapper (``Realtime(AutoReset(game))``): the inference
  processes run on across episodes as in a live game, so the first frames of an episode are
  acted by actions computed on the end of the previous one. (With the reset outside, every
  episode would begin with ``D`` idle frames, and a game whose default-action episodes are
  shorter than ``D`` frames would never see a fresh action.)
* ``model/params/width<w>`` and ``model/frames/width<w>``: the IMPALA Q-network's size at each
  width on the first game's observations and the ``D`` the paper's table gives it.
* The return of a run is the mean return of the episodes finished in the last quarter of
  training (ε-greedy, ε at its final value), averaged over seeds.
* Regret decomposition against the same learner acting on every frame with the freshest
  possible action (staggered, ``D = 1``; the smallest ``D`` of the study when 1 is not in it):
  ``delay = R_ref − R_staggered(D)`` (staggered acts every frame, so it pays only for staleness)
  and ``inaction = R_staggered(D) − R_sequential(D)`` (what acting on one frame in ``D + 1``
  adds). Learning regret, against the optimal policy, is unknown for these games.
* Demonstrations (``demo_frames``, ``pretrain_updates``): the paper pretrains its Tetris DQN
  on one recorded human game. Here games with a scripted player (Tetris:
  :func:`envs.tetris.expert.expert_action`) can give ``demo_frames`` frames of its play to DQN
  as DQfD demonstrations (``jaxrl.agents.dqn``), pretrained on for ``pretrain_updates`` steps.
  Off by default: at the default budget it did not lift DQN's Tetris return above zero (the
  pretrained network agrees with the player on ~91 % of frames, which is not enough to place
  pieces).
* The scripted player in real time (``scripted_frames``, Tetris only): a competent policy with
  no learning regret, played through the same schedulers. ``scripted/<env>/fresh`` is its score
  acting on every frame with no delay; ``scripted/<env>/<mode>/D<D>`` under the realtime wrapper
  (score of ``scripted_frames``-frame games, play stopping at game over). This player does not
  know its actions in flight, so staggered inference, which acts every frame on ``D``-frame-old
  states, repeats moves already made (delay regret), while sequential play only waits (inaction
  regret). ``scripted_lookahead/<env>/<mode>/D<D>``: the same player acting on
  :func:`envs.realtime.lookahead`'s prediction of the state its action lands on (the game run
  ``D`` frames ahead with the actions in flight): what remains is the delay regret of the game's
  own randomness (the pieces that spawn within ``D`` frames), the paper's claim for staggered
  inference.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

import envs
from envs.realtime import Realtime, Scheduler
from envs.realtime import lookahead as realtime_lookahead
from envs.tetris.expert import expert_action
from jaxrl.agents.dqn import DQNConfig, make_train
from jaxrl.demonstrations import collect
from jaxrl.random_policy import baseline_return

MODES = ("sequential", "staggered")
# Scripted players by game: a pure function of the game's state to an action.
SCRIPTED = {"Tetris": expert_action}
WIDTHS = (1, 2, 4, 8, 16, 32, 64)
BASELINES = ("noop", "random")
# Model size (parameters) → inference time in Game Boy frames (Riemer et al. 2025, model-size
# study).
GAMEBOY_FRAMES = ((55e3, 1), (1e6, 5), (10e6, 8), (100e6, 70), (1e9, 596))


def frames_for_params(num_params: float) -> float:
    """Inference time in frames of a model with ``num_params`` parameters: log–log interpolation
    of the paper's Game Boy measurements (clamped at 1 frame below 55K parameters)."""
    sizes, frames = (np.log(np.array(v, float)) for v in zip(*GAMEBOY_FRAMES))
    x = math.log(max(float(num_params), 1.0))
    if x <= sizes[0]:
        return 1.0
    slope = (frames[-1] - frames[-2]) / (sizes[-1] - sizes[-2])
    y = np.interp(x, sizes, frames) if x <= sizes[-1] else frames[-1] + slope * (x - sizes[-1])
    return float(np.exp(y))


def model_sizes(obs_shape, widths, num_actions: int) -> dict[int, tuple[int, float]]:
    """Per IMPALA width: the Q-network's parameter count and the inference time in Game Boy
    frames that :func:`frames_for_params` gives it (the paper's model-size → ``D`` mapping)."""
    import equinox as eqx
    import jax

    from jaxrl.agents.dqn import QNetwork

    out = {}
    for w in widths:
        net = eqx.filter_eval_shape(QNetwork, tuple(obs_shape), num_actions, "impala_cnn",
                                    (256,), jax.random.key(0), w)
        count = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(net)
                    if isinstance(x, jax.ShapeDtypeStruct))
        out[w] = (count, frames_for_params(count))
    return out


def scheduler(mode: str, d: int) -> Scheduler:
    """One process (sequential) or ``D`` processes staggered by the maximum inference time."""
    if mode == "sequential":
        return Scheduler(kind="sequential", max_processes=1, num_processes=1,
                         inference_frames=float(d))
    if mode == "staggered":
        return Scheduler(kind="staggered_max", max_processes=d, num_processes=d,
                         inference_frames=float(d))
    raise ValueError(f"mode={mode!r} is invalid: expected one of {MODES}")


def dqn_config(env: str, frames: int, network: str, width: int) -> DQNConfig:
    """Our DQN at MinAtar scale (lr 1e-3, γ 0.99 and batch 32 as the paper; buffer, start and
    target period shrunk to ``frames``)."""
    num_envs = 8
    target = max(num_envs, min(10_000, frames // 20) // num_envs * num_envs)
    return DQNConfig(env=env, network=network, width=width, hidden=(128,), num_envs=num_envs,
                     total_timesteps=frames, buffer_size=min(100_000, frames),
                     batch_size=32, learning_starts=min(5_000, frames // 10), train_frequency=4,
                     target_update_interval=target, lr=1e-3, gamma=0.99, loss="huber",
                     epsilon_end=0.05, exploration_fraction=0.2)


def final_return(metrics: dict) -> np.ndarray:
    """Per seed: mean return of the episodes finished in the last quarter of the updates."""
    returns = np.asarray(metrics["episode_return"])  # (updates, seeds)
    tail = returns[-max(1, returns.shape[0] // 4):]
    with np.errstate(all="ignore"):
        counts = np.isfinite(tail).sum(axis=0)
        return np.where(counts > 0, np.nansum(tail, axis=0) / np.maximum(counts, 1), np.nan)


def demonstrations(env_name: str, demo_frames: int, num_envs: int = 8):
    """``key -> Transition``: ``demo_frames`` frames of ``SCRIPTED[env_name]``'s play (``None``
    when the game has no scripted player or ``demo_frames`` is 0)."""
    if not demo_frames or env_name not in SCRIPTED:
        return None
    base, params = envs.make(env_name)
    player = SCRIPTED[env_name]
    return functools.partial(collect, base, params, lambda key, state: player(state),
                             num_envs=num_envs, num_steps=max(1, demo_frames // num_envs))


def learn(run, env_name: str, mode: str, d: int, frames: int, network: str, width: int,
          keys, demo_frames: int = 0, pretrain_updates: int = 0) -> np.ndarray:
    """Train DQN on ``env_name`` in real time (``mode``, ``D = d``); per-seed final return."""
    from experiments.harness import train_seeds

    base, params = envs.make(env_name)
    demos = demonstrations(env_name, demo_frames)
    config = dqn_config(env_name, frames, network, width).replace(
        pretrain_updates=pretrain_updates if demos else 0)
    program = make_train(config, env=Realtime(envs.AutoReset(base), scheduler(mode, d)),
                         env_params=params, demonstrations=demos)
    _, metrics, _ = train_seeds(program, keys, run, f"learn_{env_name}_{mode}_D{d}", chunks=5)
    return final_return(metrics)


def baselines(env_name: str, key, frames: int) -> dict[str, float]:
    """Returns of the default-action (noop) and uniform-random policies on ``env_name``."""
    base, params = envs.make(env_name)
    num_steps = min(12_000, max(2_000, frames // 8))  # a noop Tetris game lasts ~10^4 frames
    return {b: float(baseline_return(base, params, key, b, num_envs=16, num_steps=num_steps))
            for b in BASELINES}


def scripted(env_name: str, mode: str | None, d: int, frames: int, key, num_games: int = 8,
             lookahead: bool = False) -> float:
    """Mean score of ``num_games`` games of ``frames`` frames played by ``SCRIPTED[env_name]``
    under the realtime wrapper (``mode``, ``D = d``; ``mode=None``: fresh, every frame, no
    delay); a game scores nothing after its first game over. ``lookahead``: the player acts on
    :func:`envs.realtime.lookahead`'s prediction of the state its action will land on
    (``D`` frames ahead) instead of the state it reads."""
    base, params = envs.make(env_name)
    player = SCRIPTED[env_name]
    env = base if mode is None else Realtime(base, scheduler(mode, d))

    def act(state):
        if mode is None:
            return player(state)
        if lookahead:
            state = realtime_lookahead(env, state, params, d, jax.random.key(0))
        return player(state.env_state)

    def run(key):
        k_reset, k_play = jax.random.split(key)
        _, state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_reset, num_games), params)

        def frame(carry, key):
            state, alive = carry
            action = jax.vmap(act)(state)
            _, state, reward, terminated, _, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(key, num_games), state, action, params)
            return (state, alive & ~terminated), jnp.where(alive, reward, 0.0)

        _, rewards = jax.lax.scan(frame, (state, jnp.ones(num_games, bool)),
                                  jax.random.split(k_play, frames))
        return rewards.sum(axis=0).mean()

    return float(jax.jit(run)(key))


def scripted_study(env_name: str, ds, frames: int, key) -> dict[str, float]:
    """``scripted/<env>/fresh``, ``scripted/<env>/<mode>/D<D>`` and
    ``scripted_lookahead/<env>/<mode>/D<D>`` (see the module docstring)."""
    out = {f"scripted/{env_name}/fresh": scripted(env_name, None, 1, frames, key)}
    for prefix, ahead in (("scripted", False), ("scripted_lookahead", True)):
        for d in ds:
            for mode in MODES:
                out[f"{prefix}/{env_name}/{mode}/D{d}"] = scripted(
                    env_name, mode, d, frames, key, lookahead=ahead)
    return out


def regret(summary: dict, env_name: str, ds) -> dict[str, float]:
    """``regret/<env>/<mode>/D<D>/{delay,inaction}`` against staggered at the smallest ``D``."""
    ref = summary[f"return/{env_name}/staggered/D{min(ds)}"]
    out = {}
    for d in ds:
        stag = summary[f"return/{env_name}/staggered/D{d}"]
        seq = summary[f"return/{env_name}/sequential/D{d}"]
        out[f"regret/{env_name}/staggered/D{d}/delay"] = ref - stag
        out[f"regret/{env_name}/staggered/D{d}/inaction"] = 0.0
        out[f"regret/{env_name}/sequential/D{d}/delay"] = ref - stag
        out[f"regret/{env_name}/sequential/D{d}/inaction"] = stag - seq
    return out


def study(run, env_names, ds, frames: int, network: str, width: int, keys, demo_frames: int = 0,
          pretrain_updates: int = 0, scripted_frames: int = 0) -> tuple[dict, list]:
    """Every env × mode × D, the baselines, the regret split and the scripted players in real
    time; ``(summary, table rows)``."""
    summary, rows = {}, []
    env0, params0 = envs.make(env_names[0])
    obs_shape = env0.observation_space(params0).shape
    if len(obs_shape) == 3:  # the paper's model-size → D mapping for the IMPALA widths
        sizes = model_sizes(obs_shape, WIDTHS, env0.action_space(params0).n)
        for w, (count, d) in sizes.items():
            summary[f"model/params/width{w}"] = float(count)
            summary[f"model/frames/width{w}"] = d
        print("  IMPALA width → parameters → Game Boy inference frames: " + ", ".join(
            f"{w}: {c / 1e6:.2f}M → {d:.1f}" for w, (c, d) in sizes.items()), flush=True)
    for env_name in env_names:
        base = baselines(env_name, keys[0], frames)
        for b, value in base.items():
            summary[f"return/{env_name}/{b}"] = value
        for d in ds:
            row = {"env": env_name, "D": d}
            for mode in MODES:
                returns = learn(run, env_name, mode, d, frames, network, width, keys,
                                demo_frames, pretrain_updates)
                value = float(np.nanmean(returns)) if np.isfinite(returns).any() else math.nan
                summary[f"return/{env_name}/{mode}/D{d}"] = value
                row[mode] = value
            rows.append({**row, **base})
            print(f"  {env_name} D={d}: sequential {row['sequential']:.2f}  staggered "
                  f"{row['staggered']:.2f}  (noop {base['noop']:.2f}, random "
                  f"{base['random']:.2f})", flush=True)
        summary.update(regret(summary, env_name, ds))
        if scripted_frames and env_name in SCRIPTED:
            played = scripted_study(env_name, ds, scripted_frames, keys[0])
            summary.update(played)
            print(f"  {env_name} scripted player, {scripted_frames}-frame games: fresh "
                  f"{played[f'scripted/{env_name}/fresh']:.0f}", flush=True)
            for prefix in ("scripted", "scripted_lookahead"):
                print(f"    {prefix}: " + ", ".join(
                    f"D={d} sequential {played[f'{prefix}/{env_name}/sequential/D{d}']:.0f} "
                    f"staggered {played[f'{prefix}/{env_name}/staggered/D{d}']:.0f}"
                    for d in ds), flush=True)
    return summary, rows


def plot(run, env_names, ds, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(env_names), figsize=(3.6 * len(env_names), 3.2),
                             squeeze=False)
    for ax, env_name in zip(axes[0], env_names):
        for i, mode in enumerate(MODES):
            ax.plot(ds, [summary[f"return/{env_name}/{mode}/D{d}"] for d in ds], "o-",
                    color=f"C{i}", label=mode)
        for i, b in enumerate(BASELINES):
            ax.axhline(summary[f"return/{env_name}/{b}"], color="k", ls=("--", ":")[i], lw=1,
                       label=b)
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(ds) / 1.5, max(ds) * 1.5)  # a run with no finished episode is all NaN
        ax.set_xlabel("inference time D (frames)")
        ax.set_title(env_name, fontsize=9)
    axes[0][0].set_ylabel("return (last quarter of training)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    run.savefig(fig, "learning.png")
    plt.close(fig)
    for env_name in env_names:
        if f"scripted/{env_name}/fresh" in summary:
            plot_scripted(run, env_name, ds, summary)


def plot_scripted(run, env_name: str, ds, summary: dict) -> None:
    """The scripted player's score vs ``D``: sequential and staggered, acting on the state it
    reads (dashed) or on the predicted state its action lands on (solid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.4, 3.2))
    for i, mode in enumerate(MODES):
        for prefix, style, note in (("scripted_lookahead", "o-", "lookahead"),
                                    ("scripted", "x--", "reads")):
            ax.plot(ds, [summary[f"{prefix}/{env_name}/{mode}/D{d}"] for d in ds], style,
                    color=f"C{i}", label=f"{mode}, {note}")
    ax.axhline(summary[f"scripted/{env_name}/fresh"], color="k", lw=1, label="fresh, no delay")
    ax.set_xscale("log", base=2)
    ax.set_xlim(min(ds) / 1.5, max(ds) * 1.5)
    ax.set_xlabel("inference time D (frames)")
    ax.set_ylabel("score per game")
    ax.set_title(f"{env_name}: scripted player in real time", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    run.savefig(fig, "scripted.png")
    plt.close(fig)
