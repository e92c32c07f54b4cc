"""SAC (continuous and discrete) against closed-form answers on probe environments, torch's
tanh-transformed Normal, and hand-computed action rescaling.

Probe runs use a small fixed temperature (``autotune=False``) so the soft values have a clean
closed form: a soft Q excludes the current step's entropy (the soft Bellman backup), so on a
one-step probe Q(s, a) = r(s, a) whatever α is, and entropy enters only through the next state's
soft value V(s') = Σ_a π(a|s')[Q(s', a) − α log π(a|s')].
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from gymnax.environments import spaces

import envs
from jaxrl.agents import sac
from jaxrl.config import ConfigError

GAMMA = 0.9  # not 0.99, so that γ·V on Probe-TwoStep is far from V
PROBE = {"num_envs": 16, "total_timesteps": 4096, "buffer_size": 4096, "batch_size": 64,
         "learning_starts": 256, "gradient_steps": 4, "hidden": (32,), "autotune": False,
         "actor_lr": 3e-3, "critic_lr": 3e-3, "alpha_lr": 3e-3, "gamma": GAMMA, "tau": 0.05}
CONTINUOUS_ALPHA, DISCRETE_ALPHA = 0.02, 0.1


def train_probe(env_name: str, alpha: float, seed: int = 0):
    config = sac.SACConfig(env=env_name, alpha=alpha, **PROBE)
    state, metrics = jax.jit(sac.make_train(config))(jax.random.key(seed))
    assert np.all(np.isfinite(np.asarray(metrics["loss"])))
    return state, probe_variant(env_name, config)


def probe_variant(env_name: str, config):
    """The run's variant, with the functions the tests call compiled (eager is slower)."""
    env, params = envs.make(env_name)
    variant = sac.make_variant(1, env.action_space(params), config.hidden)
    return dataclasses.replace(variant, greedy=jax.jit(variant.greedy), q=jax.jit(variant.q))


def obs(x: float):
    """A batch of one probe observation: shape (1, 1)."""
    return jnp.array([[x]], jnp.float32)


# --- continuous probes --------------------------------------------------------------------

# One vmapped run serves the probe and the program-contract checks (one compilation):
# rows are (seed 0, lr), (seed 0, lr), (seed 1, lr), (seed 0, lr / 10).
ROW_KEYS, ROW_LR_SCALE = np.array([0, 0, 1, 0]), np.array([1.0, 1.0, 1.0, 0.1])


@pytest.fixture(scope="module")
def action_reward_runs():
    config = sac.SACConfig(env="Probe-ActionReward-Continuous", alpha=CONTINUOUS_ALPHA, **PROBE)
    keys = jax.random.split(jax.random.key(0), 2)[ROW_KEYS]
    configs = jax.tree.map(lambda x: jnp.broadcast_to(jnp.asarray(x), (4,)), config)
    configs = configs.replace(actor_lr=configs.actor_lr * ROW_LR_SCALE)
    states, metrics = jax.jit(jax.vmap(sac.make_train(config)))(keys, configs)
    return config, states, {k: np.asarray(v) for k, v in metrics.items()}


def test_continuous_action_reward_policy_and_q(action_reward_runs):
    """reward −(a − 0.5)²: a* = 0.5 and, one step, Q(s, a) = −(a − 0.5)² exactly."""
    config, states, _ = action_reward_runs
    variant = probe_variant(config.env, config)
    actions = jnp.array([[-0.5], [0.0], [0.5]])  # the warm-up's uniform actions cover [-1, 1]

    @jax.jit
    @jax.vmap  # over the runs
    def evaluate(actor, critic):
        o = jnp.zeros((3, 1))
        return variant.greedy(actor, o[:1])[0, 0], variant.q(critic, o, actions)

    greedy, q = map(np.asarray, evaluate(states.actor, states.critic))
    for row in (0, 2):  # both seeds
        assert greedy[row] == pytest.approx(0.5, abs=0.1)
        np.testing.assert_allclose(q[row], np.repeat(-(actions - 0.5) ** 2, 2, axis=1),
                                   atol=0.05)


@pytest.mark.slow  # 14 s; continuous SAC stays covered by test_continuous_action_reward_policy_and_q
def test_continuous_obs_action_reward_policy():
    """reward −(a − 0.5·obs)²: a*(±1) = ±0.5."""
    state, variant = train_probe("Probe-ObsActionReward-Continuous", CONTINUOUS_ALPHA)
    for o in (-1.0, 1.0):
        assert float(variant.greedy(state.actor, obs(o))[0, 0]) == pytest.approx(0.5 * o, abs=0.1)


def test_metrics_and_vmap_over_seeds_and_hyperparameters(action_reward_runs):
    config, _, metrics = action_reward_runs
    assert {"env_steps", "episode_return", "loss", "alpha", "q_mean"} <= set(metrics)
    updates = config.total_timesteps // config.num_envs
    np.testing.assert_array_equal(metrics["env_steps"][0], 16.0 * np.arange(1, updates + 1))
    # every probe episode lasts one step, so a return (≤ 0 here) is reported at every update
    assert np.all(metrics["episode_return"] <= 0.0)
    np.testing.assert_allclose(metrics["alpha"], CONTINUOUS_ALPHA, rtol=1e-6)  # autotune off
    learning = metrics["env_steps"][0] > config.learning_starts
    assert np.all(metrics["loss"][:, ~learning] == 0.0)
    assert np.all(metrics["critic_loss"][:, learning] > 0.0)
    # same key and config: identical; another seed or actor lr: different
    for name, values in metrics.items():
        np.testing.assert_array_equal(values[0], values[1], err_msg=name)
    assert not np.allclose(metrics["episode_return"][0], metrics["episode_return"][2])
    assert not np.allclose(metrics["actor_loss"][0], metrics["actor_loss"][3])
    # the actor's learning rate first changes the actions after the first learning update
    first = int(np.argmax(learning))
    np.testing.assert_array_equal(metrics["episode_return"][0, :first + 1],
                                  metrics["episode_return"][3, :first + 1])


# --- discrete probes ----------------------------------------------------------------------


@jax.jit
def _critic_out(critic, o):
    return critic(o)


def both_q(state, o):
    """Q for every action from both critics: shape (2, |A|)."""
    return np.asarray(_critic_out(state.critic, obs(o)[0]))


def test_discrete_two_step_soft_values():
    """Obs 1 is Probe-OneStep's state (terminal, reward 1): Q(1, ·) = 1, so the soft-optimal
    π(·|1) is uniform and V(1) = 1 + α·log 2. Then Q(0, ·) = γ·V(1) (the hard value, γ, is
    0.06 lower). One run checks both probes' values (one compilation fewer)."""
    state, _ = train_probe("Probe-TwoStep", DISCRETE_ALPHA)
    np.testing.assert_allclose(both_q(state, 1.0), 1.0, atol=0.01)
    soft_v1 = 1.0 + DISCRETE_ALPHA * np.log(2.0)
    np.testing.assert_allclose(both_q(state, 0.0), GAMMA * soft_v1, atol=0.01)
    # the replay holds the pre-reset next observation: 0 -> 1 (r 0) and 1 -> 1 (r 1, terminal),
    # never the reset observation 0 after a terminal step
    items = {k: np.asarray(v[0]) for k, v in state.buffer.experience.items()}
    first = items["obs"][:, 0] == 0.0
    assert first.any() and (~first).any()
    np.testing.assert_array_equal(items["next_obs"][:, 0], 1.0)
    np.testing.assert_array_equal(items["terminated"], ~first)
    np.testing.assert_array_equal(items["reward"], np.where(first, 0.0, 1.0))


def test_discrete_action_reward_prefers_rewarded_action():
    state, _ = train_probe("Probe-ActionReward", DISCRETE_ALPHA)
    probs = jax.nn.softmax(jax.jit(lambda actor: actor(obs(0.0)[0]))(state.actor))
    assert float(probs[1]) > 0.9
    np.testing.assert_allclose(both_q(state, 0.0), [[0.0, 1.0]] * 2, atol=0.05)


def test_discrete_obs_action_reward_greedy_action():
    state, variant = train_probe("Probe-ObsActionReward", DISCRETE_ALPHA)
    assert int(variant.greedy(state.actor, obs(-1.0))[0]) == 0
    assert int(variant.greedy(state.actor, obs(1.0))[0]) == 1


# --- pieces checked against independent references ----------------------------------------


def test_squashed_log_prob_matches_torch_tanh_normal():
    rng = np.random.default_rng(0)
    mean = rng.uniform(-1.0, 1.0, (64, 3)).astype(np.float32)
    log_std = rng.uniform(-2.0, 0.5, (64, 3)).astype(np.float32)
    key = jax.random.key(1)
    action, log_prob = sac.squashed_gaussian_sample(jnp.asarray(mean), jnp.asarray(log_std), key)
    eps = jax.random.normal(key, (64, 3))
    np.testing.assert_allclose(action, np.tanh(mean + np.exp(log_std) * np.asarray(eps)),
                               rtol=1e-5, atol=1e-6)
    # keep |u| < 2.5 so torch's atanh of a float64 action recovers u accurately
    keep = np.all(np.abs(np.arctanh(np.asarray(action, np.float64))) < 2.5, axis=1)
    assert keep.sum() > 40
    dist = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(torch.tensor(mean, dtype=torch.float64),
                                   torch.tensor(np.exp(log_std), dtype=torch.float64)),
        [torch.distributions.transforms.TanhTransform()],
    )
    expected = dist.log_prob(torch.tensor(np.asarray(action, np.float64))).sum(-1).numpy()
    np.testing.assert_allclose(np.asarray(log_prob)[keep], expected[keep], rtol=1e-4,
                               atol=1e-3)


def test_squashed_log_prob_is_finite_where_tanh_saturates():
    """At u = 12, tanh(u) rounds to 1 in float32 and log(1 − tanh²u) would be −inf; the
    exact value is log N(u) − 2(log 2 − u − softplus(−2u)) ≈ log N(u) + 2u − 2 log 2."""
    u, mean, log_std = jnp.array([12.0]), jnp.array([11.0]), jnp.array([0.0])
    got = float(sac.squashed_log_prob(u, mean, log_std))
    expected = -0.5 - 0.5 * np.log(2 * np.pi) + 2 * 12.0 - 2 * np.log(2.0)
    assert got == pytest.approx(expected, abs=1e-4)


def test_pendulum_actions_rescale_to_box_bounds():
    env, params = envs.make("Pendulum-v1")
    space = env.action_space(params)
    assert (float(space.low), float(space.high)) == (-2.0, 2.0)
    variant = sac.make_variant(3, space, (8,))
    actions = jnp.array([[-1.0], [-0.5], [0.0], [0.5], [1.0]])
    np.testing.assert_allclose(variant.to_env(actions)[:, 0], [-2.0, -1.0, 0.0, 1.0, 2.0])


def test_asymmetric_box_rescaling_per_dimension():
    space = spaces.Box(jnp.array([0.0, -1.0]), jnp.array([1.0, 3.0]), (2,), jnp.float32)
    variant = sac.make_variant(1, space, (8,))
    actions = jnp.array([[-1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(variant.to_env(actions), [[0.0, 3.0], [0.5, 1.0]])


def test_unbounded_box_is_rejected():
    space = spaces.Box(-jnp.inf, jnp.inf, (1,), jnp.float32)
    with pytest.raises(ValueError, match="finite Box bounds"):
        sac.make_variant(1, space, (8,))


# --- config and program contract ----------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("env", "NoSuchEnv-v0"), ("gamma", 1.5), ("tau", -0.1), ("batch_size", 0),
    ("actor_lr", 0.0), ("alpha", -1.0), ("learning_starts", -1), ("hidden", ()),
    ("hidden", (64, 0)), ("target_entropy_scale", 2.0), ("total_timesteps", 1001),
])
def test_config_errors_name_the_field(field, value):
    kwargs = {"num_envs": 4} if field == "total_timesteps" else {}
    with pytest.raises(ConfigError, match=f"SACConfig.{field}="):
        sac.SACConfig(**kwargs, **{field: value})


def test_buffer_must_hold_a_batch():
    with pytest.raises(ConfigError, match="SACConfig.buffer_size="):
        sac.SACConfig(buffer_size=100, batch_size=256)


# --- slow: the benchmark tasks ------------------------------------------------------------


def last_returns(config, n=10):
    _, metrics = jax.jit(sac.make_train(config))(jax.random.key(0))
    returns = np.asarray(metrics["episode_return"])
    return returns[~np.isnan(returns)][-n:]


@pytest.mark.slow
def test_sac_pendulum_learns():
    """Paper defaults except 64-unit layers and 1 000 warm-up steps (CPU time); a random policy
    scores about −1 200, a swing-up policy about −150."""
    config = sac.SACConfig(env="Pendulum-v1", total_timesteps=20_000, buffer_size=20_000,
                           learning_starts=1_000, hidden=(64, 64))
    assert last_returns(config).mean() > -400.0


@pytest.mark.slow
def test_discrete_sac_cartpole_learns():
    """Target entropy 0.5·log 2. With the default 0.89·log 2 the temperature diverges on
    CartPole (the entropy bonus is a survival reward that grows with α, so the policy stays
    near-deterministic close to failure and α never stops growing: α ≈ 9 000 after 50 k steps)."""
    config = sac.SACConfig(env="CartPole-v1", total_timesteps=30_000, buffer_size=30_000,
                           learning_starts=1_000, hidden=(64, 64), target_entropy_scale=0.5)
    assert last_returns(config).mean() > 150.0
