"""Actor-critic policies behind one interface, feed-forward and recurrent alike.

A policy is an Equinox module with ``initial_state()`` (a pytree for one environment; ``()`` for
feed-forward) and ``__call__(state, obs, reset) -> (state, dist_out, value)``: ``reset`` (a
bool) restores the initial state before ``obs`` is read, ``dist_out`` is the logits (discrete)
or the action mean (continuous; the log standard deviation is the state-independent ``log_std``
parameter). Recurrent policies accept any *cell* with ``initial_state()`` and
``__call__(state, x) -> (state, y)`` and a static ``out_size`` — so a network whose state is an
arbitrary pytree (e.g. a delayed pipelined network) trains with the same PPO code.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.init import linear


class ActorCritic(eqx.Module):
    """Feed-forward: ``obs -> torso -> (actor head, critic head)``; torso optional and shared."""

    actor: eqx.Module
    critic: eqx.Module
    torso: eqx.Module | None
    log_std: jax.Array | None

    def initial_state(self):
        return ()

    def __call__(self, state, obs, reset):
        x = obs if self.torso is None else self.torso(obs)
        return state, self.actor(x), self.critic(x)[..., 0]


class RecurrentActorCritic(eqx.Module):
    """``obs -> encoder -> cell -> (actor head, critic head)`` with the cell state carried."""

    encoder: eqx.Module | None
    cell: eqx.Module
    actor: eqx.Module
    critic: eqx.Module
    log_std: jax.Array | None

    def initial_state(self):
        return self.cell.initial_state()

    def __call__(self, state, obs, reset):
        init = self.cell.initial_state()
        state = jax.tree.map(lambda i, s: jnp.where(reset, i, s), init, state)
        x = obs if self.encoder is None else self.encoder(obs)
        state, y = self.cell(state, x)
        return state, self.actor(y), self.critic(y)[..., 0]


def heads(in_size: int, action_dim: int, key: jax.Array):
    """PPO's output layers: policy head with gain 0.01, value head with gain 1."""
    k1, k2 = jax.random.split(key)
    return linear(in_size, action_dim, k1, 0.01), linear(in_size, 1, k2, 1.0)
