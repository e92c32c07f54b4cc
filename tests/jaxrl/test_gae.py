"""GAE against a direct transcription of Schulman et al. (2016) eq. 16, episode by episode."""

import jax.numpy as jnp
import numpy as np

from jaxrl.gae import bootstrap_values, gae


def reference_gae(rewards, values, last_value, final_values, terminated, truncated, gamma, lam):
    """Loop over time, one environment; a truncated step bootstraps from its final value."""
    T = len(rewards)
    adv = np.zeros(T)
    running = 0.0
    for t in reversed(range(T)):
        if terminated[t]:
            nxt, cont = 0.0, 0.0
        elif truncated[t]:
            nxt, cont = final_values[t], 0.0
        else:
            nxt = values[t + 1] if t + 1 < T else last_value
            cont = 1.0
        delta = rewards[t] + gamma * nxt - values[t]
        running = delta + gamma * lam * cont * running
        adv[t] = running
    return adv


def test_gae_matches_reference_with_terminations_and_truncations():
    rng = np.random.default_rng(0)
    T, B = 17, 5
    rewards = rng.normal(size=(T, B))
    values = rng.normal(size=(T, B))
    final_values = rng.normal(size=(T, B))
    last_value = rng.normal(size=B)
    terminated = rng.random((T, B)) < 0.15
    truncated = (rng.random((T, B)) < 0.15) & ~terminated
    nv = bootstrap_values(jnp.asarray(values), jnp.asarray(last_value), jnp.asarray(final_values),
                          jnp.asarray(terminated), jnp.asarray(truncated))
    adv, ret = gae(jnp.asarray(rewards), jnp.asarray(values), nv,
                   1.0 - jnp.asarray(terminated | truncated), 0.97, 0.9)
    for b in range(B):
        ref = reference_gae(rewards[:, b], values[:, b], last_value[b], final_values[:, b],
                            terminated[:, b], truncated[:, b], 0.97, 0.9)
        np.testing.assert_allclose(adv[:, b], ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, adv + values, rtol=1e-6)


def test_lambda_one_gives_discounted_return_and_zero_gives_td():
    rewards = jnp.array([[1.0], [2.0], [3.0]])
    values = jnp.array([[0.5], [0.25], [0.125]])
    nv = jnp.array([[0.25], [0.125], [0.0]])
    cont = jnp.array([[1.0], [1.0], [0.0]])
    _, ret = gae(rewards, values, nv, cont, 0.5, 1.0)
    np.testing.assert_allclose(ret[:, 0], [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0])
    adv, _ = gae(rewards, values, nv, cont, 0.5, 0.0)
    np.testing.assert_allclose(adv[:, 0], [1 + 0.125 - 0.5, 2 + 0.0625 - 0.25, 3 - 0.125])
