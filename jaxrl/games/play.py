"""Play a fixed memory-1 policy of agent 0 against a learning peer (agent 1) on the environment.

One ``lax.scan`` over ``num_steps`` steps of :class:`envs.MultiAgentAutoReset` around an
:class:`envs.games.IteratedGame` (so the observation returns to the start state at the
horizon, as in FURTHER's trainer). Each step both agents sample from their current policies,
the environment pays both, and the peer applies its learning rule to the transition.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from envs.games.iterated import IteratedGame
from envs.multi_agent import MultiAgentAutoReset
from jaxrl.games.peer import Peer, PeerStep


class PlayRecord(NamedTuple):
    rewards: jax.Array  # (T, 2) sampled rewards of agent 0 and agent 1
    expected_rewards: jax.Array  # (T, 2) expected rewards under both step policies
    peer_policy: jax.Array  # (T, m) the peer's action probabilities at each step
    final_peer_state: object


def play(env: IteratedGame, params, commitment, peer: Peer, key, num_steps: int) -> PlayRecord:
    """Agent 0 plays the memory-1 ``commitment`` ``(S, n)``; the peer learns from its initial
    state. Pure and jittable (``env``, ``num_steps`` static)."""
    game = MultiAgentAutoReset(env)
    payoffs = jnp.asarray(params.payoffs, jnp.float32)
    commitment = jnp.asarray(commitment, jnp.float32)
    key_reset, key_steps = jax.random.split(key)
    _, env_state = game.reset_env(key_reset, params)
    peer_state = peer.init(env.num_actions)

    def step(carry, key):
        env_state, peer_state = carry
        key_0, key_1, key_env = jax.random.split(key, 3)
        s = env_state.state_index
        x, y = commitment[s], peer.policy(peer_state, s, payoffs)
        a0 = jax.random.choice(key_0, x.shape[0], p=x)
        a1 = jax.random.choice(key_1, y.shape[0], p=y)
        actions = dict(zip(env.agents, (a0, a1)))
        _, env_state, rewards, _, _ = game.transition(key_env, env_state, actions, params)
        reward = jnp.stack([rewards[a] for a in env.agents])
        transition = PeerStep(state=s, actions=jnp.stack([a0, a1]), reward=reward[1],
                              next_state=env_state.state_index, other_policy=commitment,
                              payoffs=payoffs)
        peer_state = peer.update(peer_state, transition)
        expected = jnp.einsum("a,kab,b->k", x, payoffs, y)
        return (env_state, peer_state), (reward, expected, y)

    (_, peer_state), (rewards, expected, policies) = jax.lax.scan(
        step, (env_state, peer_state), jax.random.split(key_steps, num_steps))
    return PlayRecord(rewards, expected, policies, peer_state)
