"""Active equilibria vs Nash equilibria in iterated matrix games (Kim et al., arXiv 2210.16175).

    python -m experiments.active_equilibria --preset smoke|default|paper [--seeds N] [--out DIR]

For each game: every Nash equilibrium (support enumeration) with its payoffs; the active
equilibrium of agent 0 against each learning peer (agent 1): the stationary commitment on a grid
of mixed strategies (``--resolution``; with ``--memory-one`` also every pure memory-1 policy,
where there are at most 1024) whose long-run average reward is highest once the peer's learning
rule has run for ``--steps`` steps from its initial state (mean expected reward over the last
``--tail`` fraction of steps); and the average reward actually received when playing that
commitment against the peer from the peer's initial state (sampled rewards over the whole run).
Games of the same shape are solved together, vmapped over their payoff tensors.

Peers: ``fixed`` (non-learning, always the peer's last action), ``fictitious_play``,
``naive_pg`` (exact naive policy gradient), ``lola`` (exact LOLA), ``further_q`` (FURTHER's
tabular Q peer, Q initialised to 10·(1, …, m), i.e. FURTHER's [10, 20] for two actions; learning
from the first step instead of FURTHER's 256) and ``q`` (ε-greedy tabular Q-learning).

summary.json: ``nash/<game>`` (list of ``[agent-0 payoff, agent-1 payoff]`` pairs),
``active_value/<game>/<peer>`` (agent 0's average reward under its active commitment),
``realized/<game>/<peer>`` (agent 0's realized average reward, mean over seeds).
Expected: Bach–Stravinsky 2 against a best-responding learner (fictitious play; Nash gives 1, 2
or 2/3), coordination 8, matching pennies 0; against ``fixed`` the ordinary best response.
Plot: ``active_vs_nash.png``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from envs.games import GAMES, IteratedGame
from experiments import harness
from jaxrl import games as G

NAME = "active_equilibria"
PEERS = ("fixed", "fictitious_play", "naive_pg", "lola", "further_q", "q")
MAX_MEMORY_ONE = 1024


@dataclasses.dataclass(frozen=True)
class Config:
    """Active vs Nash equilibria against learning peers."""

    preset: harness.Preset = "default"
    """smoke (< 1 min on CPU), default (all games and peers on a 2-core CPU), paper (longer)."""
    games: tuple[str, ...] = tuple(GAMES)
    """Games (names in envs.games.GAMES)."""
    peers: tuple[str, ...] = PEERS
    """Learning peers of agent 1."""
    resolution: int = 24
    """Grid of agent 0's stationary commitments: probabilities in steps of 1/resolution (a
    multiple of 6 holds the mixed equilibria 1/2 and 1/3 of the named games)."""
    memory_one: bool = False
    """Also search every pure memory-1 commitment (games with at most 1024 of them)."""
    steps: int = 2000
    """Steps of the peer's learning per candidate commitment."""
    tail: float = 0.5
    """Fraction of final steps whose mean expected reward estimates the long-run average."""
    seeds: int = 4
    """Seeds per candidate commitment (values are means over seeds)."""
    seed: int = 0
    """Base seed."""
    out: str | None = None
    """Output folder (default runs/active_equilibria/<UTC timestamp>)."""

    def __post_init__(self):
        for field, names, allowed in (("games", self.games, tuple(GAMES)),
                                      ("peers", self.peers, PEERS)):
            unknown = [n for n in names if n not in allowed]
            if unknown or not names:
                raise ValueError(f"Config.{field}={list(names)} is invalid: expected a non-empty "
                                 f"list of {', '.join(allowed)}")
        for field in ("resolution", "steps", "seeds"):
            if getattr(self, field) < 1:
                raise ValueError(f"Config.{field}={getattr(self, field)} is invalid: expected "
                                 "an integer >= 1")
        if not 0.0 < self.tail <= 1.0:
            raise ValueError(f"Config.tail={self.tail} is invalid: expected a number in (0, 1]")


PRESETS = {
    "smoke": {"games": ("bach_stravinsky", "coordination", "matching_pennies"),
              "peers": ("fixed", "fictitious_play", "naive_pg"), "resolution": 4, "steps": 200,
              "seeds": 2},
    "default": {},
    "paper": {"resolution": 60, "memory_one": True, "steps": 20_000, "seeds": 16},
}


def make_peer(name: str, num_actions: tuple[int, int]) -> G.Peer:
    m = num_actions[1]
    if name == "fixed":
        return G.FixedPeer(G.strategies.always(m - 1, num_actions, player=1))
    if name == "fictitious_play":
        return G.FictitiousPlay()
    if name == "naive_pg":
        return G.NaivePolicyGradient()
    if name == "lola":
        return G.LOLA()
    if name == "further_q":
        return G.FurtherQ(q_init=tuple(10.0 * (i + 1) for i in range(m)))
    return G.EpsilonGreedyQ()


def commitments(config: Config, num_actions: tuple[int, int]) -> np.ndarray:
    grid = G.strategies.stationary_commitments(num_actions, config.resolution)
    n_states = 1 + num_actions[0] * num_actions[1]
    if config.memory_one and num_actions[0] ** n_states <= MAX_MEMORY_ONE:
        grid = np.concatenate([grid, G.strategies.deterministic_memory_one(num_actions)])
    return grid


def solve_games(config: Config, names: list[str], peer: G.Peer, key) -> G.ActiveSolution:
    """The active solutions of games of one shape, vmapped over their payoff tensors."""
    env = IteratedGame(GAMES[names[0]])
    params = jax.vmap(lambda p: env.default_params.replace(payoffs=p))(
        jnp.stack([GAMES[g] for g in names]))
    candidates = commitments(config, env.num_actions)
    solution = jax.vmap(lambda p: G.solve_active(
        env, p, peer, candidates, key, num_steps=config.steps, num_seeds=config.seeds,
        tail=config.tail))(params)
    return jax.device_get(solution)


def plot(run: harness.RunDir, config: Config, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(config.games)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.2 * rows), squeeze=False)
    x = np.arange(len(config.peers))
    for ax, game in zip(axes.flat, config.games):
        active = [summary[f"active_value/{game}/{p}"] for p in config.peers]
        realized = [summary[f"realized/{game}/{p}"] for p in config.peers]
        ax.bar(x - 0.2, active, 0.4, label="active value")
        ax.bar(x + 0.2, realized, 0.4, label="realized")
        for i, (v0, _) in enumerate(summary[f"nash/{game}"]):
            ax.axhline(v0, color="k", ls="--", lw=0.8, label="Nash (agent 0)" if i == 0 else None)
        ax.set_xticks(x, config.peers, rotation=45, ha="right", fontsize=7)
        ax.set_title(game, fontsize=9)
        ax.set_ylabel("agent 0 average reward")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    run.savefig(fig, "active_vs_nash.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: preset={config.preset} games={len(config.games)} peers={len(config.peers)} "
          f"-> {run.path}")
    key = jax.random.key(config.seed)
    summary, rows = {}, []
    for game in config.games:
        summary[f"nash/{game}"] = [list(e.payoffs) for e in G.support_enumeration(GAMES[game])]
    # Games with the same action counts share one compiled, vmapped solver.
    shapes: dict[tuple[int, int], list[str]] = {}
    for game in config.games:
        shapes.setdefault(tuple(GAMES[game].shape[1:]), []).append(game)
    results = {}
    for shape, names in shapes.items():
        for peer_name in config.peers:
            solution = solve_games(config, names, make_peer(peer_name, shape), key)
            print(f"  {'/'.join(names)} vs {peer_name}: done", flush=True)
            for i, game in enumerate(names):
                results[game, peer_name] = jax.tree.map(lambda x, i=i: x[i], solution)
    for game in config.games:
        for peer_name in config.peers:
            s = results[game, peer_name]
            summary[f"active_value/{game}/{peer_name}"] = float(s.value)
            summary[f"realized/{game}/{peer_name}"] = float(s.realized[0])
            stationary = bool(np.allclose(s.commitment, s.commitment[0]))
            rows.append({"game": game, "peer": peer_name,
                         "nash (agent 0)": " ".join(f"{v0:.3g}"
                                                    for v0, _ in summary[f"nash/{game}"]),
                         "active": float(s.value), "realized": float(s.realized[0]),
                         "commitment": (np.array2string(s.commitment[0], precision=2)
                                        if stationary else "memory-1")})
    run.write_summary(summary)
    plot(run, config, summary)
    print(harness.format_table(rows))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
