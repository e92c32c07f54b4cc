"""Active equilibria against a learning peer (Kim et al., "A Game-Theoretic Perspective on
Active Equilibria", arXiv 2210.16175): agent 0's best stationary commitment when agent 1 learns.

Agent 0's objective is its long-run average reward ``ρ⁰ = lim_T (1/T) Σ_t E[R⁰_t]`` of the joint
process in which the peer keeps learning. For each candidate commitment (a memory-1 policy;
stationary mixed strategies on a grid are the special case of identical rows), the peer's
learning rule runs from its initial state for ``num_steps`` steps and ``ρ⁰`` is estimated as the
mean over the last ``tail`` fraction of steps (the paper's limit, truncated) of agent 0's
*expected* step reward given both policies (no reward-sampling noise), averaged over
``num_seeds`` seeds. The active commitment maximises it. The search is a grid, vmapped over
candidates and seeds; the paper's gradient-based search over commitments is not implemented.

``realized`` is the average reward actually received (sampled rewards, whole run including the
learning transient, mean over seeds), i.e. what playing the commitment from the peer's initial
state yields.

With a non-learning peer (:class:`jaxrl.games.peer.FixedPeer`) the peer's policy never
changes, so the active commitment is an ordinary best response.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from envs.games.iterated import IteratedGame
from jaxrl.games.peer import Peer
from jaxrl.games.play import play


class ActiveSolution(NamedTuple):
    index: jax.Array  # index of the best commitment among the candidates
    commitment: jax.Array  # (S, n) the active commitment
    value: jax.Array  # agent 0's estimated average reward ρ⁰ under it
    peer_value: jax.Array  # agent 1's average reward under it
    realized: jax.Array  # (2,) mean sampled reward over the whole run, both agents
    values: jax.Array  # (K, 2) estimated average rewards of every candidate
    realized_all: jax.Array  # (K, 2)


def evaluate_commitments(env: IteratedGame, params, peer: Peer, commitments, key,
                         num_steps: int, num_seeds: int, tail: float = 0.5):
    """``(values, realized)``, each ``(K, 2)``, for the candidates ``commitments`` ``(K, S, n)``."""
    tail_steps = max(1, round(tail * num_steps))

    def one(commitment, key):
        record = play(env, params, commitment, peer, key, num_steps)
        return (record.expected_rewards[-tail_steps:].mean(0), record.rewards.mean(0))

    keys = jax.random.split(key, num_seeds)
    per_seed = jax.vmap(lambda c: jax.vmap(lambda k: one(c, k))(keys))(commitments)
    return jax.tree.map(lambda x: x.mean(1), per_seed)


@partial(jax.jit, static_argnames=("env", "num_steps", "num_seeds", "tail"))
def solve_active(env: IteratedGame, params, peer: Peer, commitments, key, num_steps: int,
                 num_seeds: int = 1, tail: float = 0.5) -> ActiveSolution:
    """The best of ``commitments`` for agent 0 against the learning ``peer`` (agent 1)."""
    if not 0.0 < tail <= 1.0:
        raise ValueError(f"tail={tail} is invalid: expected a fraction in (0, 1]")
    commitments = jnp.asarray(commitments, jnp.float32)
    values, realized = evaluate_commitments(env, params, peer, commitments, key, num_steps,
                                            num_seeds, tail)
    best = jnp.argmax(values[:, 0])
    return ActiveSolution(best, commitments[best], values[best, 0], values[best, 1],
                          realized[best], values, realized)
