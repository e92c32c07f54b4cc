"""The continual loop calls the agent's refresh before every block of at most ``refresh_every``
steps (a divisor of ``log_every``), so the ρ agents' incremental inverses are re-solved often;
an agent with a polish step gets the refresh before each update's first block and the polish
before its other blocks (also with seeds vmapped)."""

import jax
import jax.numpy as jnp
import pytest

from jaxrl.agents.avg_reward.loop import ContinualConfig, TabularAgent, make_continual_train
from jaxrl.config import ConfigError

COUNTING = TabularAgent(
    init=lambda key, num_states, num_actions, hp: jnp.zeros((), jnp.int32),
    act=lambda agent, s, key, hp: (jnp.zeros((), jnp.int32), agent),
    learn=lambda agent, s, a, r, s_next, key, hp: (agent, jnp.zeros(())),
    policy=lambda agent: None,
    refresh=lambda agent: agent + 1,
)


@pytest.mark.parametrize("log_every, refresh_every, per_update",
                         [(1000, 100, 10), (1000, 300, 10), (1000, 1000, 1), (1000, 5000, 1),
                          (250, 100, 5)])
def test_refreshes_per_update(log_every, refresh_every, per_update):
    config = ContinualConfig(total_timesteps=2 * log_every, log_every=log_every,
                             refresh_every=refresh_every)
    final, metrics = jax.jit(make_continual_train(COUNTING, config))(jax.random.key(0))
    assert int(final.agent) == 2 * per_update
    assert metrics["env_steps"].tolist() == [log_every, 2 * log_every]
    assert metrics["reward"].shape == (2,)


@pytest.mark.parametrize("log_every, refresh_every, per_update",
                         [(1000, 100, 10), (1000, 1000, 1), (250, 100, 5)])
def test_polish_between_refreshes(log_every, refresh_every, per_update):
    polishing = COUNTING._replace(polish=lambda agent: agent + 1000)
    config = ContinualConfig(total_timesteps=2 * log_every, log_every=log_every,
                             refresh_every=refresh_every)
    program = make_continual_train(polishing, config)
    final, _ = jax.jit(jax.vmap(program))(jax.random.split(jax.random.key(0), 3))
    assert final.agent.tolist() == [2 * (1 + 1000 * (per_update - 1))] * 3


def test_refresh_every_must_be_positive():
    with pytest.raises(ConfigError, match="refresh_every"):
        ContinualConfig(refresh_every=0)
