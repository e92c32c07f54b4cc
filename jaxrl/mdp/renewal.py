"""Mixing times of episodic games and of task sequences, from episode lengths alone.

Riemer et al. (NeurIPS 2022), §3, measure how the mixing time of pre-trained policies grows on
sequences of Atari games. The paper is silent on a construction that fits a finite chain; ours:

* One game under a fixed policy, seen through the *age* of its current episode (steps since the
  episode began), is a renewal process: from age ``a`` the episode ends with the hazard
  ``h(a) = P(L = a + 1 | L > a)`` (back to age 0) or continues to ``a + 1``. The age chain is
  exactly Markov and is fully determined by the distribution of episode lengths ``L``, which we
  measure by rolling out the policy. Its stationary law is ``π(a) ∝ P(L > a)``.
* Ages are lumped into bins (``age_chain``). The lumped chain takes each bin's transition
  probabilities under the stationary law within the bin, so it keeps the stationary mass of
  every bin exactly (the ages of a bin are not exchangeable, so other quantities, the mixing time
  among them, are approximations at bin resolution). A game whose episodes all last the same
  ``L`` steps (MinAtar Freeway's time limit) has a periodic age chain, which never mixes; its
  lumped chain is aperiodic and mixes in about ``L`` steps, the time to forget the phase under
  any jitter of the episode length.
* A sequence of ``K`` games switched in cyclic order (``task_sequence_chain``) is the chain on
  (task, age bin): each step the task switches with probability ``1 / switch_every`` (memoryless,
  the same mean residence as the deterministic switch; a deterministic timer makes the chain
  periodic, as for NCycle in ``envs.scalable.cycle``) and otherwise the active game ages. A game
  resumed after a switch starts at an age drawn from its stationary law: tracking every paused
  game's age would make the chain exponential in ``K``.
"""

from __future__ import annotations

import numpy as np


def age_chain(length_counts, num_bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Lumped age chain of a game from ``length_counts[L]`` = episodes of length ``L``.

    Ages ``0 … L_max − 1`` are split into at most ``num_bins`` bins of geometrically growing
    width (ages 0, 1, 2, … first, one per bin, while they fit). Returns ``(P, d)``: the
    ``(B, B)`` row-stochastic lumped transition matrix and the stationary law of the bins.
    """
    counts = np.asarray(length_counts, np.float64)
    if counts.ndim != 1 or (counts < 0).any() or counts[1:].sum() <= 0:
        raise ValueError("length_counts must be a 1-D histogram of non-negative episode counts "
                         "with at least one episode of length >= 1")
    if num_bins < 1:
        raise ValueError(f"num_bins={num_bins} is invalid: expected >= 1")
    counts = counts.copy()
    counts[0] = 0.0
    max_len = int(np.flatnonzero(counts).max())
    p_len = counts / counts.sum()
    alive = (1.0 - np.cumsum(p_len))[:max_len]  # alive[a] = P(L > a), a = 0 … L_max − 1
    alive = np.clip(alive, 0.0, None)
    hazard = np.where(alive > 0, p_len[1:max_len + 1] / np.maximum(alive, 1e-300), 1.0)
    edges = bin_edges(max_len, num_bins)
    num = len(edges) - 1
    weight = alive / alive.sum()  # stationary law of ages
    p = np.zeros((num, num))
    d = np.zeros(num)
    for b in range(num):
        lo, hi = edges[b], edges[b + 1]
        w = weight[lo:hi]
        mass = w.sum()
        d[b] = mass
        if mass <= 0:  # ages nobody reaches: any row keeps the chain stochastic
            p[b, 0] = 1.0
            continue
        reset = (w * hazard[lo:hi]).sum() / mass
        advance = w[-1] * (1.0 - hazard[hi - 1]) / mass if b + 1 < num else 0.0
        p[b, 0] += reset
        if b + 1 < num:
            p[b, b + 1] += advance
        p[b, b] += 1.0 - reset - advance
    return p, d / d.sum()


def bin_edges(max_len: int, num_bins: int) -> np.ndarray:
    """Edges ``0 = e_0 < … < e_B = max_len`` with geometrically growing widths."""
    if max_len <= num_bins:
        return np.arange(max_len + 1)
    edges = np.unique(np.round(np.geomspace(1, max_len + 1, num_bins + 1)).astype(int) - 1)
    edges[0], edges[-1] = 0, max_len
    return np.unique(edges)


def task_sequence_chain(chains, switch_every: float) -> np.ndarray:
    """Chain on (task, age bin) of games switched cyclically every ``switch_every`` steps on
    average. ``chains`` is a sequence of ``(P_k, d_k)`` from :func:`age_chain`."""
    if switch_every < 1:
        raise ValueError(f"switch_every={switch_every} is invalid: expected >= 1")
    if not chains:
        raise ValueError("chains must hold at least one game's (P, d)")
    s = 1.0 / float(switch_every)
    sizes = [np.asarray(p).shape[0] for p, _ in chains]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    k = len(chains)
    out = np.zeros((starts[-1], starts[-1]))
    for i, (p, _) in enumerate(chains):
        rows = slice(starts[i], starts[i + 1])
        nxt = (i + 1) % k
        stay = 1.0 - s if k > 1 else 1.0
        out[rows, rows] += stay * np.asarray(p)
        if k > 1:
            out[rows, starts[nxt]:starts[nxt + 1]] += s * np.asarray(chains[nxt][1])[None]
    return out
