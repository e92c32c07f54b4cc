"""FURTHER's tabular Q peer flips to A after the hand-computed number of updates, and ε-greedy
tabular Q-learning takes Watkins' step."""

import jax
import jax.numpy as jnp
import numpy as np

from envs.games import make_game
from jaxrl.games import EpsilonGreedyQ, FurtherQ, PeerStep, play
from jaxrl.games import strategies as S

# FURTHER's IBS peer (agent 1) starts from Q = [Q_A, Q_B] = [10, 20] and plays greedily (ε = 0
# here). Agent 0 always plays A, so the peer's B earns 0 and each update replaces
# Q_B ← 0 + 0.9·max(Q_A, Q_B) = 0.9·Q_B while Q_B > Q_A: after k updates Q_B = 20·0.9^k.
# It flips once 20·0.9^k < 10, i.e. 0.9^k < 1/2, k > ln 2 / ln(10/9) = 6.58: k = 7
# (20·0.9^6 = 10.63 > 10 > 9.57 = 20·0.9^7). Then A earns 1 and Q_A ← 1 + 0.9·10 = 10 is a
# fixed point, so the peer stays at A.
FLIP = 7


def test_further_q_peer_flips_to_a_after_seven_updates():
    env, params = make_game("bach_stravinsky")
    peer = FurtherQ(epsilon=0.0)
    record = jax.jit(lambda k: play(env, params, S.always(0, (2, 2), 0), peer, k, 20))(
        jax.random.PRNGKey(0))
    plays_a = np.asarray(record.peer_policy[:, 0])  # the policy before each step's update
    np.testing.assert_array_equal(plays_a, [0.0] * FLIP + [1.0] * (20 - FLIP))
    np.testing.assert_allclose(record.final_peer_state["q"], [10.0, 20 * 0.9**FLIP], rtol=1e-6)
    np.testing.assert_array_equal(record.rewards[:, 1], [0.0] * FLIP + [1.0] * (20 - FLIP))


def test_further_q_peer_is_frozen_for_its_first_steps():
    peer = FurtherQ(epsilon=0.0, frozen_steps=256)
    payoffs = make_game("bach_stravinsky")[1].payoffs
    state = peer.init((2, 2))
    step = PeerStep(state=jnp.int32(1), actions=jnp.array([0, 1]), reward=jnp.float32(0.0),
                    next_state=jnp.int32(2), other_policy=jnp.asarray(S.always(0, (2, 2), 0)),
                    payoffs=payoffs)
    update = jax.jit(peer.update)
    flips = None
    for t in range(300):
        if flips is None and int(jnp.argmax(peer.policy(state, 0, payoffs))) == 0:
            flips = t
        state = update(state, step)
    assert flips == 256 + FLIP


def test_further_q_peer_explores_with_epsilon():
    probs = FurtherQ().policy(FurtherQ().init((2, 2)), 0, None)
    np.testing.assert_allclose(probs, [0.025, 0.975])


def test_tabular_q_takes_watkins_step():
    peer = EpsilonGreedyQ(lr=0.5, gamma=0.9, epsilon=0.2)
    q = jnp.zeros((5, 2)).at[3].set(jnp.array([4.0, 2.0])).at[1, 1].set(1.0)
    step = PeerStep(state=jnp.int32(1), actions=jnp.array([1, 1]), reward=jnp.float32(2.0),
                    next_state=jnp.int32(3), other_policy=jnp.zeros((5, 2)), payoffs=None)
    new = peer.update(q, step)
    # Q(1, 1) ← 1 + 0.5·(2 + 0.9·4 − 1) = 3.3; nothing else moves.
    np.testing.assert_allclose(new, q.at[1, 1].set(3.3), rtol=1e-6)
    np.testing.assert_allclose(peer.policy(new, 1, None), [0.1, 0.9])
