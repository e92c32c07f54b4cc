"""FURTHER / LILI / MASAC on the two-agent HalfCheetah (:mod:`envs.cheetah2`), as one
``lax.scan``: the continuous counterpart of :mod:`jaxrl.further.train`.

``make_continuous_train(config)`` returns a :class:`jaxrl.program.TrainProgram` whose
``update`` plays one ``horizon``-step episode from a fresh reset (HalfCheetah never terminates,
so every episode is exactly ``horizon`` steps; latents and learners carry on across episodes,
as in the matrix games), with one online learning step of each agent's
:class:`jaxrl.further.continuous_learner.ContinuousLearner` per environment step. Agent 0 runs
``config.method`` (or the index given to ``init``), agent 1 ``config.peer`` (``self``: the same
method); the method is data in the learner state, so both agents' states are stacked and one
learner step, vmapped over the agents, serves both (half the compile time of two). The
environment state lives inside ``update`` only, so ``init`` builds no physics.

Per-update metrics: ``env_steps``, ``episode_return`` (agent 0's return of the episode),
``loss`` (both learners' losses, mean over the episode), ``reward/agent_k`` (mean reward per
step), ``x_velocity`` (mean forward velocity), ``gain`` (agent 0's ρ̂ at the end),
``critic_loss``, ``inference_loss``, ``kl`` (agent 0's, mean over the episode).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from envs.cheetah2 import make_cheetah2
from jaxrl.further.config import METHODS, FurtherConfig
from jaxrl.further.continuous_learner import ContinuousLearner
from jaxrl.further.learner import LearnerState
from jaxrl.further.metrics import episode_metrics
from jaxrl.program import TrainProgram


@struct.dataclass
class ContinuousRunnerState:
    agents: LearnerState  # both agents' learners stacked on a leading axis (agent 0, agent 1)
    n: jax.Array  # environment steps so far
    key: jax.Array


def make_continuous_train(config: FurtherConfig) -> TrainProgram:
    if config.game != "cheetah2":
        raise ValueError(f"FurtherConfig.game={config.game!r} is not a continuous game: "
                         "expected cheetah2")
    env, params = make_cheetah2(max_steps_in_episode=config.horizon)
    agents = tuple(env.agents)
    dims = {env.action_size(a) for a in agents}
    if len(dims) != 1:
        raise ValueError(f"{env.name} gives its agents {sorted(dims)} action dimensions: the "
                         "continuous FURTHER learners run as one vmapped step and need equal ones")
    dim = dims.pop()
    learner = ContinuousLearner(config, env.obs_size, dim, dim)
    # one learner step traced once and vmapped over the two agents
    learn = jax.vmap(learner.step, (0, 0, None, 0))
    act = jax.vmap(learner.act)

    def init(key, method=None):
        """``method``: agent 0's index into ``METHODS`` (default ``config.method``); may be
        traced, so ``vmap`` over it runs every method in one program."""
        method = jnp.asarray(METHODS.index(config.method) if method is None else method)
        peer = method if config.peer == "self" else jnp.asarray(METHODS.index(config.peer))
        k_agents, key = jax.random.split(key)
        states = jax.vmap(learner.init)(jax.random.split(k_agents), jnp.stack([method, peer]))
        return ContinuousRunnerState(states, jnp.zeros((), jnp.int32), key)

    def env_step(carry, _):
        runner, env_state, obs = carry
        key, k_act, k_env, k_learn = jax.random.split(runner.key, 4)
        obs = jnp.stack([obs[a] for a in agents])
        actions = act(runner.agents, obs, jax.random.split(k_act))
        next_obs, env_state, rewards, _, info = env.transition(
            k_env, env_state, dict(zip(agents, actions)), params)
        rewards = jnp.stack([rewards[a] for a in agents])
        n = runner.n + 1
        transitions = {"obs": obs, "z": runner.agents.z, "own_action": actions,
                       "peer_action": actions[::-1], "reward": rewards.astype(jnp.float32),
                       "next_obs": jnp.stack([next_obs[a] for a in agents])}
        states, m = learn(runner.agents, transitions, n, jax.random.split(k_learn))
        loss = (m["critic_loss"] + m["actor_loss"] + m["inference_loss"]).sum()
        out = {"reward/agent_0": rewards[0], "reward/agent_1": rewards[1],
               "x_velocity": info["x_velocity"], "loss": loss,
               "critic_loss": m["critic_loss"][0], "inference_loss": m["inference_loss"][0],
               "kl": m["kl"][0], "gain": m["gain"][0]}
        return (ContinuousRunnerState(states, n, key), env_state, next_obs), out

    def update(runner: ContinuousRunnerState):
        key, k_reset = jax.random.split(runner.key)
        obs, env_state = env.reset_env(k_reset, params)
        (runner, _, _), steps = jax.lax.scan(
            env_step, (runner.replace(key=key), env_state, obs), None, length=config.horizon)
        return runner, episode_metrics(steps, runner.n)

    return TrainProgram(init, update, config.num_steps // config.horizon, config.horizon)
