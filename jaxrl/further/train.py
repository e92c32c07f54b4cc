"""FURTHER / LILI / MASAC against a peer on an iterated matrix game, as one ``lax.scan``.

``make_train(config)`` returns a :class:`jaxrl.program.TrainProgram` whose ``update`` plays one
``horizon``-step episode (the game auto-resets its observation to the start state; latents and
learners carry on), one online learning step per environment step (reference ``trainer.py``), so
``jax.vmap(program)(keys)`` runs seeds as one program. ``program(key, method)`` (``method`` an
index into ``METHODS``) overrides agent 0's method (and a ``self`` peer's) with a possibly traced
index, so ``vmap`` over methods shares one compiled program.

Per-update metrics: ``env_steps``, ``episode_return`` (agent 0's return of the episode), ``loss``
(sum of both learners' losses, mean over the episode), ``reward/agent_k`` (mean reward per step),
``prob_A/agent_k`` (mean probability of action A = 0), ``gain`` (agent 0's ρ̂ at the end),
``critic_loss``, ``inference_loss``, ``kl``.

A continuous game (``cheetah2``) is handed to
:func:`jaxrl.further.train_continuous.make_continuous_train`.

Agent 1 may also be any :class:`jaxrl.games.Peer` (``make_train(config, peer=LOLA())``, on a
matrix game): it replaces ``config.peer`` and learns from every transition, with agent 0's
current memory-1 policy (its actor on each state's observation at its current latent) as
``PeerStep.other_policy``, which exact-gradient peers such as LOLA differentiate through.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from envs.games import make_game
from envs.multi_agent import MultiAgentAutoReset
from jaxrl.further.config import CONTINUOUS_GAMES, METHODS, FurtherConfig
from jaxrl.further.learner import Learner, LearnerState
from jaxrl.further.metrics import episode_metrics
from jaxrl.further.train_continuous import make_continuous_train
from jaxrl.games import FurtherQ, Peer, PeerStep
from jaxrl.program import TrainProgram


@struct.dataclass
class RunnerState:
    env_state: object
    obs: jax.Array
    agent_0: LearnerState
    agent_1: object  # LearnerState, or the tabular Q peer's state
    n: jax.Array  # environment steps so far
    key: jax.Array


def make_train(config: FurtherConfig, peer: Peer | None = None) -> TrainProgram:
    """The training program of ``config``; ``peer`` (a :class:`jaxrl.games.Peer`) overrides
    ``config.peer`` as agent 1 on a matrix game."""
    if peer is not None and not isinstance(peer, Peer):
        raise TypeError(f"make_train(peer=...) takes a jaxrl.games.Peer, got {type(peer)!r}")
    if config.game in CONTINUOUS_GAMES:
        if peer is not None:
            raise ValueError(f"FurtherConfig.game={config.game!r} is continuous: its peer is a "
                             "learner named by FurtherConfig.peer, not a jaxrl.games.Peer")
        return make_continuous_train(config)
    env, params = make_game(config.game, max_steps_in_episode=config.horizon)
    if env.num_actions[0] != env.num_actions[1]:
        raise ValueError(f"FurtherConfig.game={config.game!r} has actions {env.num_actions}: "
                         "FURTHER's networks need equal action counts")
    game = MultiAgentAutoReset(env)
    m = env.num_actions[0]
    learner_0 = Learner(config, env.num_states, m)
    if peer is None and config.peer == "tabular_q":
        peer = FurtherQ(frozen_steps=config.batch_size)
    tabular = peer is not None  # agent 1 is a game peer, not a FURTHER-family learner
    learner_1 = None if tabular else Learner(config, env.num_states, m)
    observations = jnp.eye(env.num_states, dtype=jnp.float32)  # one-hot of each state index
    payoffs = jnp.asarray(params.payoffs, jnp.float32)

    def init(key, method=None):
        """``method``: agent 0's index into ``METHODS`` (default ``config.method``); may be
        traced, so ``vmap`` over it runs every method in one program."""
        method = METHODS.index(config.method) if method is None else method
        k_env, k0, k1, key = jax.random.split(key, 4)
        obs, env_state = game.reset_env(k_env, params)
        if tabular:
            state_1 = peer.init(env.num_actions)
        else:
            state_1 = learner_1.init(k1, method if config.peer == "self"
                                     else METHODS.index(config.peer))
        return RunnerState(env_state, obs[env.agents[0]], learner_0.init(k0, method), state_1,
                           jnp.zeros((), jnp.int32), key)

    def env_step(runner: RunnerState, _):
        key, k_a0, k_a1, k_env, k_l0, k_l1 = jax.random.split(runner.key, 6)
        obs, s = runner.obs, runner.env_state.state_index
        p0 = learner_0.policy(runner.agent_0, obs)
        p1 = peer.policy(runner.agent_1, s, payoffs) if tabular else learner_1.policy(
            runner.agent_1, obs)
        a0 = jax.random.choice(k_a0, m, p=p0)
        a1 = jax.random.choice(k_a1, m, p=p1)
        next_obs, env_state, rewards, _, _ = game.transition(
            k_env, runner.env_state, dict(zip(env.agents, (a0, a1))), params)
        next_obs = next_obs[env.agents[0]]
        r0, r1 = rewards[env.agents[0]], rewards[env.agents[1]]
        n = runner.n + 1
        agent_0, m0 = learner_0.step(runner.agent_0, _transition(
            obs, runner.agent_0.z, a0, a1, r0, next_obs), n, k_l0)
        if tabular:
            table_0 = jax.vmap(lambda o: learner_0.policy(runner.agent_0, o))(observations)
            agent_1 = peer.update(runner.agent_1, PeerStep(
                state=s, actions=jnp.stack([a0, a1]), reward=r1,
                next_state=env_state.state_index, other_policy=table_0, payoffs=payoffs))
            loss_1 = 0.0
        else:
            agent_1, m1 = learner_1.step(runner.agent_1, _transition(
                obs, runner.agent_1.z, a1, a0, r1, next_obs), n, k_l1)
            loss_1 = m1["critic_loss"] + m1["actor_loss"] + m1["inference_loss"]
        loss = m0["critic_loss"] + m0["actor_loss"] + m0["inference_loss"] + loss_1
        out = {"reward/agent_0": r0, "reward/agent_1": r1, "prob_A/agent_0": p0[0],
               "prob_A/agent_1": p1[0], "loss": loss, "critic_loss": m0["critic_loss"],
               "inference_loss": m0["inference_loss"], "kl": m0["kl"], "gain": m0["gain"]}
        return RunnerState(env_state, next_obs, agent_0, agent_1, n, key), out

    def update(runner: RunnerState):
        runner, steps = jax.lax.scan(env_step, runner, None, length=config.horizon)
        return runner, episode_metrics(steps, runner.n)

    return TrainProgram(init, update, config.num_steps // config.horizon, config.horizon)


def _transition(obs, z, own, peer, reward, next_obs) -> dict:
    return {"obs": obs, "z": z, "own_action": own.astype(jnp.int32),
            "peer_action": peer.astype(jnp.int32), "reward": jnp.asarray(reward, jnp.float32),
            "next_obs": next_obs}
