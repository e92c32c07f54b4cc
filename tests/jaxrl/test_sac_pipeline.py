"""SAC with sequence replay through a pipelined actor.

* A counter environment whose observation names the episode and the step in it checks what the
  trajectory buffer stores and samples against the states recorded while acting: windows are
  contiguous steps of one environment, stored pipeline states are the ones the actor consumed,
  and replaying a window (across episode boundaries, with burn-in) reproduces the acting ticks.
* With depth N = 1 the losses equal :mod:`jaxrl.agents.sac`'s on the windows' last steps, for an
  ordinary SAC actor holding the same weights (values and gradients).
* End to end on Probe-ObsActionReward-Continuous (one-step episodes, reward −(a − 0.5·obs)²):
  the skip path sees the fresh observation and learns a*(obs) = 0.5·obs; a plain pipeline of
  depth 3 is reset every episode, so its action cannot depend on the observation (slow).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment
from jaxrl.agents import sac
from jaxrl.agents import sac_pipeline as sp
from jaxrl.config import ConfigError


@struct.dataclass
class CounterState:
    tag: jax.Array
    time: jax.Array


@struct.dataclass
class CounterParams:
    max_steps_in_episode: int = 5


class Counter(Environment):
    """obs = (tag, t): a random tag drawn at reset and the step within the episode. Episodes
    whose tag is above 0.5 terminate after 3 steps, the others are truncated after 5."""

    @property
    def default_params(self):
        return CounterParams()

    def reset_env(self, key, params):
        state = CounterState(jax.random.uniform(key), jnp.zeros((), jnp.int32))
        return self._obs(state), state

    def step_env(self, key, state, action, params):
        state = CounterState(state.tag, state.time + 1)
        terminated = jnp.logical_and(state.tag > 0.5, state.time >= 3)
        return self._obs(state), state, state.time.astype(jnp.float32), terminated, {}

    def is_truncated(self, state, params):
        return state.time >= params.max_steps_in_episode

    @staticmethod
    def _obs(state):
        return jnp.stack([state.tag, state.time.astype(jnp.float32)])

    def action_space(self, params=None):
        return spaces.Box(-1.0, 1.0, (1,), jnp.float32)

    def observation_space(self, params):
        return spaces.Box(0.0, 5.0, (2,), jnp.float32)


COUNTER = sp.SACPipelineConfig(
    env="Pendulum-v1", num_envs=2, total_timesteps=2 * 40, buffer_size=2 * 40, batch_size=16,
    learning_starts=2 * 15, depth=2, width=8, critic_hidden=(8,), burn_in=1)
WARM_UPDATES = COUNTER.learning_starts // COUNTER.num_envs  # ticks 0..15 use the initial actor


@pytest.fixture(scope="module")
def counter_run():
    """Drive the program update by update, recording what the actor held before each one."""
    program = sp.make_train(COUNTER, env=Counter(), env_params=CounterParams())
    update = jax.jit(program.update)
    state = jax.jit(program.init)(jax.random.key(0))
    actor0 = state.actor
    obs, pstates, metrics = [], [], []
    for _ in range(program.num_updates):
        obs.append(np.asarray(state.obs))
        pstates.append(np.asarray(state.pstate))
        state, m = update(state)
        metrics.append(m)
    metrics = {k: np.stack([np.asarray(m[k]) for m in metrics]) for k in metrics[0]}
    return state, actor0, np.stack(obs, 1), np.stack(pstates, 1), metrics  # [env, time, ...]


def test_run_emits_the_contract_metrics(counter_run):
    _, _, _, _, metrics = counter_run
    assert {"env_steps", "episode_return", "loss", "critic_loss", "actor_loss", "alpha"} <= set(
        metrics)
    np.testing.assert_array_equal(metrics["env_steps"], 2.0 * np.arange(1, 41))
    assert np.isfinite(metrics["loss"]).all()
    learning = np.arange(40) >= WARM_UPDATES
    assert np.all(metrics["loss"][~learning] == 0) and np.all(metrics["critic_loss"][learning] > 0)
    # policy updated every 2nd gradient step (the global index counts from update 0)
    policy = learning & (np.arange(40) % 2 == 0)
    assert np.all(metrics["actor_loss"][policy] != 0)
    assert np.all(metrics["actor_loss"][~policy] == 0)
    # returns are sums 1 + … + 3 = 6 (terminated) or 1 + … + 5 = 15 (truncated)
    returns = metrics["episode_return"][~np.isnan(metrics["episode_return"])]
    assert returns.size and np.all((returns >= 6.0) & (returns <= 15.0))


def test_buffer_stores_the_acting_observations_and_pipeline_states(counter_run):
    state, _, obs, pstates, _ = counter_run
    exp = state.buffer.experience
    np.testing.assert_array_equal(np.asarray(exp["obs"]), obs)
    np.testing.assert_array_equal(np.asarray(exp["pstate"]), pstates)
    # the pipeline restarts from zeros after each episode's last step
    done = np.asarray(exp["done"])
    assert done.any() and np.all(pstates[:, 1:][done[:, :-1]] == 0.0)
    assert np.any(pstates != 0.0)


def _sample(state, seed):
    buffer = sp.make_sequence_replay(COUNTER)
    return jax.tree.map(np.asarray, buffer.sample(state.buffer, jax.random.key(seed)).experience)


def test_windows_are_contiguous_steps_of_one_environment(counter_run):
    state, _, obs, pstates, _ = counter_run
    windows = _sample(state, 1)
    length = COUNTER.seq_len
    assert windows["obs"].shape == (COUNTER.batch_size, length, 2)
    crossed = 0
    for w in range(COUNTER.batch_size):
        matches = [(e, s) for e in range(2) for s in range(obs.shape[1] - length + 1)
                   if np.array_equal(obs[e, s:s + length], windows["obs"][w])]
        assert len(matches) == 1, "a window is not a contiguous run of one environment"
        e, s = matches[0]
        np.testing.assert_array_equal(windows["pstate"][w, 0], pstates[e, s])
        tag, t = windows["obs"][w, :, 0], windows["obs"][w, :, 1]
        done = windows["done"][w]
        for i in range(1, length):  # a new episode starts exactly after a done step
            if done[i - 1]:
                crossed += 1
                assert t[i] == 0 and tag[i] != tag[i - 1]
            else:
                assert t[i] == t[i - 1] + 1 and tag[i] == tag[i - 1]
                np.testing.assert_array_equal(windows["next_obs"][w, i - 1], windows["obs"][w, i])
    assert crossed > 0  # episodes of 3-5 steps, windows of 6: boundaries are crossed


def test_replaying_a_window_reproduces_the_acting_ticks(counter_run):
    """For windows the initial actor acted on, unrolling from the stored state (burn-in, resets
    after done steps) gives the states and last-step policy of acting."""
    state, actor0, obs, pstates, _ = counter_run
    length = COUNTER.seq_len
    starts = np.arange(WARM_UPDATES - length + 1)  # windows of ticks 0..15 only
    idx = starts[:, None] + np.arange(length)  # [S, L]
    windows = jax.tree.map(lambda x: np.asarray(x)[:, idx], state.buffer.experience)
    windows = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), windows)  # [2·S, L, ...]

    @jax.jit
    @jax.vmap
    def replay(window):
        final, _ = sp.unroll_actor(actor0, window["pstate"][0], window["obs"], window["done"])
        final = jnp.where(window["done"][-1], actor0.initial_state(), final)
        last, _ = sp.window_policy(actor0, window, COUNTER.burn_in)
        return final, jnp.stack(last)

    final, last = replay(windows)
    end = starts + length  # the tick after each window, and its last tick
    np.testing.assert_allclose(final, pstates[:, end].reshape(final.shape), atol=1e-6)
    _, acting = jax.jit(jax.vmap(actor0.tick))(pstates[:, end - 1].reshape(final.shape),
                                               obs[:, end - 1].reshape(-1, 2))
    np.testing.assert_allclose(last, np.stack(acting, 1), atol=1e-6)
    assert len(last) >= 10 and np.asarray(windows["done"]).any()


def test_unroll_resets_after_a_done_step(counter_run):
    _, actor, _, _, _ = counter_run  # depth 2

    @jax.jit
    def outputs(key):
        k = jax.random.split(key, 2)
        obs = jax.random.normal(k[0], (7, 2))
        state0 = jax.random.normal(k[1], actor.initial_state().shape)
        masked = sp.unroll_actor(actor, state0, obs, jnp.zeros(7, bool).at[2].set(True))[1]
        fresh = sp.unroll_actor(actor, actor.initial_state(), obs[3:], jnp.zeros(4, bool))[1]
        kept = sp.unroll_actor(actor, state0, obs, jnp.zeros(7, bool))[1]
        return masked, fresh, kept

    (mean, log_std), (mean_after, log_std_after), (mean_kept, _) = outputs(jax.random.key(0))
    np.testing.assert_allclose(mean[3:], mean_after, atol=1e-6)
    np.testing.assert_allclose(log_std[3:], log_std_after, atol=1e-6)
    assert not np.allclose(mean[3:4], mean_kept[3:4])  # without the mask the state leaks


# --- depth 1 is ordinary SAC ---------------------------------------------------------------


@pytest.fixture(scope="module")
def depth_one():
    """Both losses (and the actor gradient) of a depth-1 pipeline and of sac.py's actor holding
    the same weights, on random windows whose last steps form the ordinary SAC batch."""
    obs_size, action_dim, batch, length = 3, 2, 8, 4
    space = spaces.Box(-1.0, 1.0, (action_dim,), jnp.float32)
    variant = sac.continuous_variant(obs_size, space, (16,))
    alpha, gamma = jnp.float32(0.3), 0.9

    @eqx.filter_jit
    def compute(key):
        k = jax.random.split(key, 10)
        pipe = sp.PipelineGaussianActor(obs_size, action_dim, 16, 1, k[0])
        pipe = eqx.tree_at(lambda a: a.net.head.bias, pipe,
                           jax.random.normal(k[1], (2 * action_dim,)))
        ordinary = sac.SquashedGaussianActor(obs_size, action_dim, (), k[2])
        ordinary = eqx.tree_at(lambda a: a.net.layers[0], ordinary, pipe.net.head)
        critic = sac.TwinQ(obs_size + action_dim, 1, (16,), k[3])
        target = sac.TwinQ(obs_size + action_dim, 1, (16,), k[4])
        windows = {
            "obs": jax.random.normal(k[5], (batch, length, obs_size)),
            "next_obs": jax.random.normal(k[6], (batch, length, obs_size)),
            "action": jax.random.uniform(k[7], (batch, length, action_dim), minval=-1,
                                         maxval=1),
            "reward": jnp.arange(batch * length, dtype=jnp.float32).reshape(batch, length) / 10,
            "terminated": jnp.zeros((batch, length), bool).at[::3, -1].set(True),
            "done": jnp.zeros((batch, length), bool).at[::2, 1].set(True),
            "pstate": jnp.zeros((batch, length, 0, 16)),
        }
        last = jax.tree.map(lambda x: x[:, -1], windows)

        def ours(actor):
            return sp.actor_loss(actor, critic, alpha, windows, k[8], variant.q, 0)

        def reference(actor):  # sac.make_train's actor loss on the last steps
            q, log_prob = variant.soft_terms(actor, critic, last["obs"], k[8])
            return sac.policy_loss(q, log_prob, alpha), log_prob.mean()

        (loss, log_prob), grad = eqx.filter_value_and_grad(ours, has_aux=True)(pipe)
        (ref_loss, ref_log_prob), ref_grad = eqx.filter_value_and_grad(
            reference, has_aux=True)(ordinary)
        c_loss, q_mean = sp.critic_loss(critic, pipe, target, alpha, windows, k[9], variant.q,
                                        gamma, 0)
        # sac.make_train's critic loss on the last steps
        next_q, next_log_prob = variant.soft_terms(ordinary, target, last["next_obs"], k[9])
        y = sac.soft_q_target(last["reward"], last["terminated"], next_q, next_log_prob, alpha,
                              gamma)
        q = variant.q(critic, last["obs"], last["action"])
        return {"actor": ((loss, log_prob), (ref_loss, ref_log_prob)),
                "grad": ((grad.net.head.weight, grad.net.head.bias),
                         (ref_grad.net.layers[0].weight, ref_grad.net.layers[0].bias)),
                "critic": ((c_loss, q_mean), (sac.twin_q_loss(q, y), q.mean()))}

    return compute(jax.random.key(0))


def test_depth_one_window_is_four_steps():
    assert sp.SACPipelineConfig(depth=1).seq_len == 4  # N + 3, no burn-in by default


def test_depth_one_actor_loss_is_sacs_on_the_last_steps(depth_one):
    ours, ref = depth_one["actor"]
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    for g, r in zip(*depth_one["grad"]):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6)
        assert np.abs(g).max() > 0


def test_depth_one_critic_loss_is_sacs_on_the_last_steps(depth_one):
    ours, ref = depth_one["critic"]
    np.testing.assert_allclose(ours, ref, rtol=1e-5)


# --- end to end on a probe -------------------------------------------------------------------

PROBE = sp.SACPipelineConfig(
    env="Probe-ObsActionReward-Continuous", num_envs=16, total_timesteps=16 * 150,
    buffer_size=16 * 150, batch_size=64, learning_starts=16 * 20, gradient_steps=2,
    depth=3, width=32, critic_hidden=(32,), autotune=False, alpha=0.02, actor_lr=3e-3,
    critic_lr=3e-3, gamma=0.9, tau=0.05)


def _greedy(state, variant):
    actor = state.actor

    def act(o):
        _, (mean, _) = actor.tick(actor.initial_state(), jnp.array([o]))
        return jnp.tanh(mean)[0]

    return [float(act(o)) for o in (-1.0, 1.0)]


def _probe(variant):
    config = dataclasses.replace(PROBE, variant=variant)
    state, metrics = jax.jit(sp.make_train(config))(jax.random.key(0))
    assert np.isfinite(np.asarray(metrics["loss"])).all()
    return _greedy(state, variant), np.asarray(metrics["episode_return"])


@pytest.mark.slow  # ~30 s of compiling; the depth-1 differential check stays in the default suite
def test_skip_pipeline_learns_the_observation_dependent_probe():
    (a_neg, a_pos), returns = _probe("skip")
    assert a_neg == pytest.approx(-0.5, abs=0.1) and a_pos == pytest.approx(0.5, abs=0.1)
    assert np.nanmean(returns[-20:]) > -0.02  # uniform random actions score about -0.58


@pytest.mark.slow
def test_plain_pipeline_cannot_see_this_ticks_observation():
    (a_neg, a_pos), returns = _probe("plain")
    assert a_neg == pytest.approx(a_pos, abs=1e-6)  # the head reads only reset activations
    # the best observation-blind action is 0: expected return −0.25 (obs = ±1 equally)
    assert np.nanmean(returns[-20:]) == pytest.approx(-0.25, abs=0.05)


@pytest.mark.parametrize("field,value", [("variant", "slow"), ("depth", 0),
                                         ("learning_starts", 4), ("buffer_size", 5),
                                         ("burn_in", -1), ("critic_hidden", ())])
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        dataclasses.replace(COUNTER, **{field: value})


def test_discrete_action_space_is_rejected():
    config = dataclasses.replace(COUNTER, env="CartPole-v1", learning_starts=2 * 15)
    with pytest.raises(ConfigError, match="env"):
        sp.make_train(config)
