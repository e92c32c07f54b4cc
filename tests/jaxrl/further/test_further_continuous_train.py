"""The continuous (Gaussian-policy) FURTHER learner and its training program on the two-agent
HalfCheetah: FURTHER and LILI coincide once the gain is frozen at 0 and γ = 1 (MASAC does not),
and a short end-to-end run on cheetah2 gives finite metrics with each method's signature (slow:
each compiles a whole learner step, the second brax physics too); cheetah2's config needs a
learning peer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.config import ConfigError
from jaxrl.further import (
    METHODS,
    ContinuousLearner,
    FurtherConfig,
    make_train,
    reference_config,
)

pytestmark = pytest.mark.filterwarnings("ignore:Brax System:UserWarning")

STEPS, OBS, OWN, PEER = 8, 3, 2, 1


def transitions(key):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    obs = jax.random.normal(k1, (STEPS + 1, OBS))
    return {"obs": obs[:-1], "next_obs": obs[1:],
            "own_action": jax.random.uniform(k2, (STEPS, OWN), minval=-1, maxval=1),
            "peer_action": jax.random.uniform(k3, (STEPS, PEER), minval=-1, maxval=1),
            "reward": jax.random.normal(k4, (STEPS,))}


def test_cheetah2_needs_a_learning_peer():
    with pytest.raises(ConfigError, match="FurtherConfig.peer"):
        FurtherConfig(game="cheetah2", peer="tabular_q")
    with pytest.raises(ConfigError, match="FurtherConfig.game"):
        FurtherConfig(game="cheetah3")
    assert reference_config("cheetah2").peer == "masac"


@pytest.mark.slow
def test_further_equals_lili_with_frozen_gain_and_no_discount():
    config = FurtherConfig(game="cheetah2", peer="masac", batch_size=3, hidden=8, latent=2,
                           gamma=1.0, gain_lr=0.0, gain_from_warmup=False)
    learner = ContinuousLearner(config, OBS, OWN, PEER)
    key = jax.random.key(0)

    @jax.jit
    def run(method):
        state = learner.init(jax.random.key(1), method)

        def step(state, xs):
            n, tr, k = xs
            return learner.step(state, {**tr, "z": state.z}, n, k)

        xs = (jnp.arange(1, STEPS + 1), transitions(key), jax.random.split(key, STEPS))
        return jax.lax.scan(step, state, xs)

    states, metrics = jax.vmap(run)(jnp.arange(3))
    further, lili, masac = (jax.tree.map(lambda x, i=i: x[i], states) for i in range(3))
    assert float(metrics["critic_loss"][0, -1]) > 0  # learning happened (from step 3 on)
    np.testing.assert_allclose(metrics["critic_loss"][0], metrics["critic_loss"][1], rtol=1e-5)
    for a, b in zip(jax.tree.leaves(further.nets), jax.tree.leaves(lili.nets)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert float(further.gain) == 0.0
    assert any(not np.allclose(a, b)
               for a, b in zip(jax.tree.leaves(further.nets), jax.tree.leaves(masac.nets)))


@pytest.mark.slow
def test_short_cheetah2_run_gives_finite_metrics():
    program = make_train(reference_config("cheetah2", num_steps=40, horizon=20, batch_size=4,
                                          hidden=8))
    # init eagerly, as the experiment does (many jitted QRs of the orthogonal init in one
    # program were seen to deadlock XLA's CPU runtime)
    state = jax.vmap(program.init)(jax.random.split(jax.random.key(0), 3), jnp.arange(3))
    _, metrics = jax.jit(jax.vmap(lambda s: program.run(s, program.num_updates)))(state)
    metrics = jax.tree.map(np.asarray, metrics)
    for name, value in metrics.items():
        assert value.shape == (3, 2) and np.isfinite(value).all(), name
    np.testing.assert_array_equal(metrics["env_steps"], [[20, 40]] * 3)
    further, lili, masac = (METHODS.index(m) for m in ("further", "lili", "masac"))
    assert metrics["gain"][further, -1] != 0.0  # ρ̂ from warm-up on, learned
    assert (metrics["gain"][[lili, masac]] == 0.0).all()
    assert metrics["kl"][further, -1] > 0 and (metrics["kl"][masac] == 0.0).all()
    # the episode return is agent 0's summed reward
    np.testing.assert_allclose(metrics["episode_return"], 20 * metrics["reward/agent_0"],
                               rtol=1e-5)
