"""Agent 1 as any ``jaxrl.games.Peer``: the default tabular Q peer passed explicitly runs the same
program bit for bit, and an exact-gradient peer (LOLA) learns from FURTHER's current memory-1
policy (its actor on every state's one-hot observation at its current latent)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.games import make_game
from jaxrl.further import Learner, make_train, reference_config
from jaxrl.games import LOLA, FurtherQ, lola_gradient

SMALL = {"num_steps": 12, "horizon": 6, "batch_size": 4, "hidden": 8, "latent": 2}


def test_bad_peer_is_refused_before_building():
    with pytest.raises(TypeError, match="jaxrl.games.Peer"):
        make_train(reference_config("ibs", **SMALL), peer="lola")
    with pytest.raises(ValueError, match="continuous"):
        make_train(reference_config("cheetah2", num_steps=40, horizon=20, batch_size=4),
                   peer=LOLA())


@pytest.mark.slow
def test_explicit_tabular_q_peer_is_the_default_program():
    config = reference_config("ibs", **SMALL)
    default = jax.jit(make_train(config))(jax.random.key(3))
    explicit = jax.jit(make_train(config, peer=FurtherQ(frozen_steps=config.batch_size)))(
        jax.random.key(3))
    def data(tree):
        return [jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x
                for x in jax.tree.leaves(tree)]

    for a, b in zip(data(default), data(explicit), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_lola_peer_steps_along_its_gradient_against_further_current_policy():
    config = reference_config("ibs", num_steps=1, horizon=1, batch_size=4, hidden=8, latent=2)
    peer = LOLA(lr=0.5)
    program = make_train(config, peer=peer)
    runner = program.init(jax.random.key(0))
    after, _ = jax.jit(program.update)(runner)
    env, params = make_game(config.game)
    learner = Learner(config, env.num_states, env.num_actions[0])
    table = jax.vmap(lambda o: learner.policy(runner.agent_0, o))(jnp.eye(env.num_states))
    expected = runner.agent_1 + 0.5 * lola_gradient(
        jnp.asarray(params.payoffs, jnp.float32), jnp.log(jnp.clip(table, 1e-6, 1.0)),
        runner.agent_1, peer.lookahead, peer.gamma)
    assert float(jnp.abs(expected - runner.agent_1).max()) > 1e-3  # the step is not trivial
    np.testing.assert_allclose(after.agent_1, expected, rtol=1e-5, atol=1e-6)
