"""Tabular Q-learning (Watkins 1989; Watkins & Dayan 1992) with ε-greedy behaviour:
``Q(s, a) ← Q(s, a) + α (r + γ (1 − terminated) max_a' Q(s', a') − Q(s, a))``, Q initialised to 0.

Observations become table rows by the first rule that applies:

1. ``state_index`` (a static callable ``obs -> int``), with ``num_states`` given;
2. a ``Discrete(n)`` observation space: the observation is the index, ``n`` states;
3. a one-element observation in a Box with finite integer bounds ``[low, high]`` (the probe
   environments' {−1, 0, 1}): index ``round(obs) − low``, ``high − low + 1`` states;
4. a vector of length ``num_states`` (given): a one-hot code, index ``argmax(obs)``.

Anything else is a ``ConfigError`` asking for ``state_index``. Indices outside
``[0, num_states)`` are not checked at run time.

Choices where the papers are silent: truncated episodes bootstrap from the final observation
(only ``terminated`` zeroes the target); with ``num_envs > 1`` each update applies, to every
visited pair, α times the mean TD error of that update's transitions through the pair (all
computed from the same table), which is Watkins' update when ``num_envs = 1``. Defaults: α 0.1,
ε 0.1 (Sutton & Barto 2018, ch. 6 examples), γ 0.99, one environment; the default ``env`` is a
probe so that the default config runs. Hyperparameter leaves of the config live in the runner
state, so ``jax.vmap(train)(keys, configs)`` sweeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from jaxrl import config as cfg
from jaxrl.agents.dqn import discrete_actions
from jaxrl.metrics import finished_episode_mean
from jaxrl.program import TrainProgram
from jaxrl.training_env import training_env


@cfg.config_dataclass
class TabularQConfig:
    env: str = cfg.static_field("Probe-TwoStep")
    num_states: int | None = cfg.static_field(None)  # None: derived from the observation space
    state_index: Callable[[jax.Array], jax.Array] | None = cfg.static_field(None)
    num_envs: int = cfg.static_field(1)
    random_ties: bool = cfg.static_field(False)  # break greedy ties at random, not lowest index
    total_timesteps: int = cfg.static_field(10_000)
    lr: float = 0.1
    gamma: float = 0.99
    epsilon: float = 0.1

    def __post_init__(self):
        cfg.known_env(self)
        cfg.positive(self, "num_envs", "total_timesteps", "lr")
        cfg.in_unit_interval(self, "gamma", "epsilon")
        cfg.check(self, "lr", lambda a: a <= 1, "a number in (0, 1]")
        cfg.divides(self, "total_timesteps", "num_envs")
        if self.num_states is not None:
            cfg.check(self, "num_states", lambda n: isinstance(n, (int, np.integer)) and n > 0,
                      "a positive integer or None")
        if self.state_index is not None and not callable(self.state_index):
            cfg.fail("TabularQConfig", "state_index", self.state_index,
                     "a callable obs -> int index, or None")
        if self.state_index is not None and self.num_states is None:
            cfg.fail("TabularQConfig", "num_states", None,
                     "a positive integer when state_index is given")


def _integer_bounds(space) -> tuple[int, int] | None:
    low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        return None
    if np.ptp(low) or np.ptp(high) or low.flat[0] % 1 or high.flat[0] % 1:
        return None
    return int(low.flat[0]), int(high.flat[0])


def state_indexer(config: TabularQConfig, space) -> tuple[Callable, int]:
    """``(index, num_states)`` for observations from ``space``, by the module's rules."""
    name = "TabularQConfig"
    if config.state_index is not None:
        return (lambda o: jnp.asarray(config.state_index(o), jnp.int32)), config.num_states
    derived = None
    if isinstance(space, spaces.Discrete):
        derived = int(space.n), lambda o: jnp.asarray(o, jnp.int32).reshape(())
    elif isinstance(space, spaces.Box) and int(np.prod(space.shape)) == 1:
        bounds = _integer_bounds(space)
        if bounds is not None:
            low, high = bounds
            derived = (high - low + 1,
                       lambda o: (jnp.round(o).astype(jnp.int32) - low).reshape(()))
    if derived is not None:
        n, index = derived
        if config.num_states not in (None, n):
            cfg.fail(name, "num_states", config.num_states,
                     f"None or {n} (the observation space has {n} states)")
        return index, n
    shape = tuple(space.shape)
    if config.num_states is not None and shape == (config.num_states,):
        return (lambda o: jnp.argmax(o).astype(jnp.int32)), config.num_states
    cfg.fail(name, "state_index", None,
             f"a callable obs -> int index (with num_states) for observations of shape {shape} "
             f"from {space!r}: only Discrete, integer-bounded scalar or one-hot observations "
             "are indexed automatically")


class TabularQState(eqx.Module):
    q: jax.Array  # [num_states, num_actions]
    env_state: Any
    obs: jax.Array
    key: jax.Array
    env_steps: jax.Array
    hp: TabularQConfig


def q_learning_update(q, s, a, r, s_next, terminated, lr, gamma):
    """One batched Watkins update: each visited ``(s, a)`` moves by ``lr`` times the mean TD
    error of the transitions through it. Returns the new table and the TD errors.

    Duplicates are found by comparing the batch with itself (``O(batch²)``, not
    ``O(table)``), so large (hashed) tables cost nothing extra per step."""
    target = r + gamma * (1.0 - terminated) * q[s_next].max(axis=-1)
    td = target - q[s, a]
    same = (s[:, None] == s[None, :]) & (a[:, None] == a[None, :])
    mean_td = (same * td[None, :]).sum(axis=1) / same.sum(axis=1)
    return q.at[s, a].set(q[s, a] + lr * mean_td), td


def greedy(key, q_values, random_ties: bool):
    """Greedy actions; with ``random_ties`` a uniformly random one among the maxima."""
    if not random_ties:
        return jnp.argmax(q_values, axis=-1).astype(jnp.int32)
    noise = jax.random.uniform(key, q_values.shape)
    best = q_values == q_values.max(axis=-1, keepdims=True)
    return jnp.argmax(jnp.where(best, noise, -1.0), axis=-1).astype(jnp.int32)


def behaviour(key, q_values, epsilon, random_ties: bool):
    """ε-greedy over :func:`greedy`."""
    k_greedy, k_explore, k_action = jax.random.split(key, 3)
    action = greedy(k_greedy, q_values, random_ties)
    random = jax.random.randint(k_action, action.shape, 0, q_values.shape[-1])
    explore = jax.random.uniform(k_explore, action.shape) < epsilon
    return jnp.where(explore, random, action).astype(jnp.int32)


def make_train(config: TabularQConfig, env=None, env_params=None) -> TrainProgram:
    """Build tabular Q-learning for ``config``; ``env``/``env_params`` replace
    ``envs.make(config.env)``."""
    env, env_params = training_env(config.env, env, env_params)
    num_actions = discrete_actions(env, env_params, "TabularQConfig", "env", config.env)
    index, num_states = state_indexer(config, env.observation_space(env_params))
    index = jax.vmap(index)
    n_envs = config.num_envs

    def init(key, hp: TabularQConfig = config):
        k_env, key = jax.random.split(key)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_env, n_envs), env_params)
        return TabularQState(q=jnp.zeros((num_states, num_actions), jnp.float32),
                             env_state=env_state, obs=obs, key=key,
                             env_steps=jnp.zeros((), jnp.int32), hp=hp)

    def update(state: TabularQState):
        hp = state.hp
        key, k_act, k_env = jax.random.split(state.key, 3)
        s = index(state.obs)
        action = behaviour(k_act, state.q[s], hp.epsilon, config.random_ties)
        obs, env_state, reward, terminated, _, info = jax.vmap(
            env.step, in_axes=(0, 0, 0, None)
        )(jax.random.split(k_env, n_envs), state.env_state, action, env_params)
        q, td = q_learning_update(state.q, s, action, reward.astype(jnp.float32),
                                  index(info["final_observation"]),
                                  terminated.astype(jnp.float32), hp.lr, hp.gamma)
        env_steps = state.env_steps + n_envs
        new_state = TabularQState(q, env_state, obs.astype(state.obs.dtype), key, env_steps, hp)
        metrics = {
            "env_steps": env_steps.astype(jnp.float32),
            "episode_return": finished_episode_mean(info),
            "loss": (td**2).mean(),
            "epsilon": jnp.asarray(hp.epsilon, jnp.float32),
        }
        return new_state, metrics

    return TrainProgram(init=init, update=update, num_updates=config.total_timesteps // n_envs,
                        steps_per_update=n_envs)


def greedy_returns(config: TabularQConfig, q: jax.Array, key: jax.Array, num_episodes: int,
                   max_steps: int, env=None, env_params=None,
                   sum_info: tuple[str, ...] = ()) -> tuple[jax.Array, dict]:
    """Returns of ``num_episodes`` episodes of the greedy policy of table ``q`` (ties as in
    ``config.random_ties``), run in parallel for ``max_steps`` steps (NaN for an episode that
    did not finish), and for each ``info`` key in ``sum_info`` its sum over each episode."""
    env, env_params = training_env(config.env, env, env_params)
    index, _ = state_indexer(config, env.observation_space(env_params))
    index = jax.vmap(index)
    k_reset, k_run = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(k_reset, num_episodes), env_params)

    def step(carry, key):
        obs, env_state, returns, sums = carry
        k_act, k_env = jax.random.split(key)
        action = greedy(k_act, q[index(obs)], config.random_ties)
        obs, env_state, _, _, _, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(k_env, num_episodes), env_state, action, env_params)
        running = jnp.isnan(returns)
        sums = {k: v + jnp.where(running, info[k], 0) for k, v in sums.items()}
        first = info["returned_episode"] & running
        returns = jnp.where(first, info["returned_episode_return"], returns)
        return (obs, env_state, returns, sums), None

    returns = jnp.full((num_episodes,), jnp.nan, jnp.float32)
    sums = {k: jnp.zeros((num_episodes,), jnp.float32) for k in sum_info}
    (_, _, returns, sums), _ = jax.lax.scan(step, (obs, env_state, returns, sums),
                                            jax.random.split(k_run, max_steps))
    return returns, sums
