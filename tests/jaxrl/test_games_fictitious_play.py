"""Fictitious play best-responds to the empirical frequencies of the other's actions."""

import jax
import jax.numpy as jnp
import numpy as np

from envs.games import GAMES
from jaxrl.games import FictitiousPlay, PeerStep


def _observe(peer, state, other_action, payoffs):
    step = PeerStep(state=jnp.int32(0), actions=jnp.array([other_action, 0]),
                    reward=jnp.float32(0), next_state=jnp.int32(0),
                    other_policy=jnp.zeros((5, 2)), payoffs=payoffs)
    return peer.update(state, step)


def test_fictitious_play_in_bach_stravinsky():
    bos = jnp.asarray(GAMES["bach_stravinsky"])
    peer = FictitiousPlay(prior=1.0)
    state = peer.init((2, 2))
    policy = jax.jit(peer.policy)
    # Belief (1/2, 1/2): agent 1 values A at 1/2, B at 2·1/2 = 1, so it plays B.
    np.testing.assert_array_equal(policy(state, 0, bos), [0, 1])
    # After agent 0 played A twice: belief (3/4, 1/4), values A 3/4 > B 1/2.
    state = _observe(peer, _observe(peer, state, 0, bos), 0, bos)
    np.testing.assert_array_equal(state, [3, 1])
    np.testing.assert_array_equal(policy(state, 3, bos), [1, 0])
    # Three B's later: belief (3/7, 4/7), values A 3/7 < B 8/7.
    for _ in range(3):
        state = _observe(peer, state, 1, bos)
    np.testing.assert_array_equal(policy(state, 1, bos), [0, 1])
