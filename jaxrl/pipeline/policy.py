"""Actor-critic with a pipelined actor and an ordinary, undelayed critic (Anokhin et al. 2025:
"the critic is a normal undelayed network", it only trains and never acts).

Follows the ``jaxrl.networks.actor_critic`` interface: ``initial_state()`` and
``__call__(state, obs, reset) -> (state, dist_out, value)``. The state is the actor's pipeline
state; ``reset`` restores its initial (zero) activations before the tick. With
``undelayed=True`` the actor is evaluated as its ordinary forward pass (state ``()``): the
undelayed reference with the same layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.networks.actor_critic import heads
from jaxrl.networks.build import action_info
from jaxrl.networks.dense import Dense
from jaxrl.networks.minatar_cnn import MinAtarCNN
from jaxrl.networks.mlp import MLP
from jaxrl.pipeline.cnn import PipelineCNN
from jaxrl.pipeline.mlp import PipelineMLP

NETWORKS = ("mlp", "cnn")


class _FlatCritic(eqx.Module):
    mlp: MLP

    def __call__(self, obs):
        return self.mlp(obs.reshape(-1).astype(jnp.float32))[0]


class _CNNCritic(eqx.Module):
    torso: MinAtarCNN
    out: Dense

    def __call__(self, obs):
        return self.out(self.torso(obs))[0]


class PipelineActorCritic(eqx.Module):
    actor: eqx.Module  # PipelineMLP or PipelineCNN
    critic: eqx.Module
    log_std: jax.Array | None
    undelayed: bool = eqx.field(static=True)

    def initial_state(self):
        return () if self.undelayed else self.actor.initial_state()

    def __call__(self, state, obs, reset):
        value = self.critic(obs)
        if self.undelayed:
            return state, self.actor.forward(obs), value
        state = jax.tree.map(lambda i, s: jnp.where(reset, i, s), self.actor.initial_state(),
                             state)
        state, out = self.actor.tick(state, obs)
        return state, out, value


def make_pipeline_actor_critic(
    key: jax.Array,
    obs_shape: tuple[int, ...],
    action_space,
    network: str = "mlp",
    variant: str = "plain",
    depth: int = 3,
    width: int = 64,
    channels: Sequence[int] = (32, 64, 64),
    hidden: int = 512,
    activation: str = "tanh",
    critic_hidden: Sequence[int] = (64, 64),
    undelayed: bool = False,
) -> PipelineActorCritic:
    """``mlp``: a :class:`PipelineMLP` actor of ``depth`` layers of ``width`` and an MLP critic;
    ``cnn``: a :class:`PipelineCNN` actor (``channels`` then ``hidden``; depth
    ``len(channels) + 2``) and the MinAtar CNN critic."""
    discrete, action_dim = action_info(action_space)
    k_actor, k_critic, k_head = jax.random.split(key, 3)
    log_std = None if discrete else jnp.zeros((action_dim,), jnp.float32)
    if network == "mlp":
        in_size = int(np.prod(obs_shape))
        actor = PipelineMLP(in_size, width, depth, action_dim, k_actor, variant, activation,
                            out_scale=0.01)
        critic = _FlatCritic(MLP(in_size, critic_hidden, 1, k_critic, activation))
    elif network == "cnn":
        actor = PipelineCNN(tuple(obs_shape), action_dim, k_actor, variant, tuple(channels),
                            hidden, out_scale=0.01)
        torso = MinAtarCNN(tuple(obs_shape), k_critic)
        critic = _CNNCritic(torso, heads(torso.out_size, 1, k_head)[1])
    else:
        raise ValueError(f"network={network!r} is invalid: expected one of {NETWORKS}")
    return PipelineActorCritic(actor, critic, log_std, undelayed)
