"""Learning peers as pure update rules with explicit state, and the fixed (non-learning) peer.

A peer plays agent 1 of an iterated bimatrix game (put a game's agents the other way round
with :func:`envs.games.swap_players`). It is an ``equinox.Module`` whose fields are its
hyperparameters (float leaves, so ``jax.vmap`` can sweep them) and has three pure methods:

* ``init(num_actions) -> state``: the learner's explicit state (a pytree of arrays);
* ``policy(state, s, payoffs) -> (m,)``: its action probabilities in observation state ``s``
  (0 = start, ``1 + a0·m + a1`` = previous joint action, as in :mod:`envs.games.iterated`);
* ``update(state, step: PeerStep) -> state``: the learning rule applied to one transition.

``PeerStep`` carries the sampled transition and, for exact-gradient learners (naive policy
gradient, LOLA), agent 0's memory-1 policy; sample-based learners ignore it.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.games.memory_one import num_states


@struct.dataclass
class PeerStep:
    state: jax.Array  # observation index before the step
    actions: jax.Array  # (2,) joint action (agent 0, agent 1)
    reward: jax.Array  # the peer's reward
    next_state: jax.Array  # observation index after the step (0 after an auto-reset)
    other_policy: jax.Array  # agent 0's memory-1 policy (S, n)
    payoffs: jax.Array  # (2, n, m)


class Peer(eqx.Module):
    """Interface of a learning peer (agent 1); see the module docstring."""

    def init(self, num_actions: tuple[int, int]):
        raise NotImplementedError

    def policy(self, state, s, payoffs) -> jax.Array:
        raise NotImplementedError

    def update(self, state, step: PeerStep):
        raise NotImplementedError


class FixedPeer(Peer):
    """A non-learning peer: a fixed memory-1 policy ``(S, m)`` (see :mod:`jaxrl.games.strategies`).
    Its update is the identity, so the active best response to it is the ordinary one."""

    table: jax.Array

    def __init__(self, table):
        self.table = jnp.asarray(table, jnp.float32)

    def init(self, num_actions):
        if self.table.shape != (num_states(*num_actions), num_actions[1]):
            raise ValueError(f"FixedPeer.table has shape {self.table.shape}: expected "
                             f"({num_states(*num_actions)}, {num_actions[1]})")
        return jnp.zeros((), jnp.int32)

    def policy(self, state, s, payoffs):
        return self.table[s]

    def update(self, state, step):
        return state


def greedy(values) -> jax.Array:
    """One-hot of ``argmax(values)`` (ties to the lowest index, as ``torch.argmax``)."""
    return jax.nn.one_hot(jnp.argmax(values), values.shape[-1], dtype=jnp.float32)


def epsilon_greedy(values, epsilon) -> jax.Array:
    """Probabilities of ε-greedy action selection: uniform with probability ε, else greedy."""
    return (1.0 - epsilon) * greedy(values) + epsilon / values.shape[-1]
