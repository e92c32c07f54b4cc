"""Build a standard actor-critic from a few names (what PPO's config selects)."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from jaxrl.networks.actor_critic import ActorCritic, RecurrentActorCritic, heads
from jaxrl.networks.mlp import MLP

TORSOS = ("mlp", "minatar_cnn", "impala_cnn")
CELLS = ("none", "lstm", "gru")


def action_info(space) -> tuple[bool, int]:
    """``(discrete, action_dim)`` of a gymnax action space; ``action_dim`` is the size of the
    policy's output (the sum of the heads' counts for several discrete heads)."""
    sizes = action_sizes(space)
    if sizes is not None:
        return True, sum(sizes)
    if isinstance(space, spaces.Box):
        return False, int(np.prod(space.shape))
    raise ValueError(f"unsupported action space {space!r}: expected Discrete or Box")


def action_sizes(space) -> tuple[int, ...] | None:
    """Action counts of the discrete heads: ``(n,)`` for ``Discrete(n)``; for a 1-D integer
    ``Box`` with lower bounds 0 (several discrete heads, e.g. Adaptive Stacking's two-head
    encoding), ``high + 1`` per entry; ``None`` for a continuous ``Box``."""
    if isinstance(space, spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, spaces.Box) and jnp.issubdtype(space.dtype, jnp.integer):
        low = np.broadcast_to(np.asarray(space.low), space.shape)
        high = np.broadcast_to(np.asarray(space.high), space.shape)
        if len(space.shape) != 1 or (low != 0).any():
            raise ValueError(f"unsupported integer action space {space!r}: expected a 1-D Box "
                             "with lower bounds 0 (one discrete head per entry)")
        return tuple(int(h) + 1 for h in high)
    return None


def _torso(name: str, obs_shape, hidden: Sequence[int], activation: str, key):
    if name == "mlp":
        return MLP(int(np.prod(obs_shape)), hidden, None, key, activation), hidden[-1]
    if name == "minatar_cnn":
        from jaxrl.networks.minatar_cnn import MinAtarCNN

        net = MinAtarCNN(tuple(obs_shape), key)
        return net, net.out_size
    if name == "impala_cnn":
        from jaxrl.networks.impala_cnn import ImpalaCNN

        net = ImpalaCNN(tuple(obs_shape), key)
        return net, net.out_size
    raise ValueError(f"unknown network {name!r}; expected one of {TORSOS}")


class _Flat(eqx.Module):
    inner: eqx.Module

    def __call__(self, x):
        return self.inner(x.reshape(-1).astype(jnp.float32))


def make_actor_critic(
    key: jax.Array,
    obs_shape: tuple[int, ...],
    action_space,
    network: str = "mlp",
    hidden: Sequence[int] = (64, 64),
    activation: str = "tanh",
    cell: str = "none",
    cell_size: int = 128,
):
    """An actor-critic for ``obs_shape`` and ``action_space``.

    ``mlp`` builds separate actor and critic MLPs (as PPO's reference implementation does);
    the CNN torsos are shared by both heads. ``cell`` = ``lstm``/``gru`` inserts a recurrent
    cell after the torso.
    """
    discrete, action_dim = action_info(action_space)
    k_torso, k_critic, k_heads, k_cell = jax.random.split(key, 4)
    log_std = None if discrete else jnp.zeros((action_dim,), jnp.float32)
    if cell == "none":
        if network == "mlp":
            in_size = int(np.prod(obs_shape))
            actor = _Flat(MLP(in_size, hidden, action_dim, k_torso, activation, out_scale=0.01))
            critic = _Flat(MLP(in_size, hidden, 1, k_critic, activation, out_scale=1.0))
            return ActorCritic(actor, critic, None, log_std)
        torso, size = _torso(network, obs_shape, hidden, activation, k_torso)
        actor, critic = heads(size, action_dim, k_heads)
        return ActorCritic(actor, critic, torso, log_std)
    torso, size = _torso(network, obs_shape, hidden, activation, k_torso)
    if network == "mlp":
        torso = _Flat(torso)
    from jaxrl.networks import rnn

    if cell == "lstm":
        core = rnn.LSTMCell(size, cell_size, k_cell)
    elif cell == "gru":
        core = rnn.GRUCell(size, cell_size, k_cell)
    else:
        raise ValueError(f"unknown cell {cell!r}; expected one of {CELLS}")
    actor, critic = heads(core.out_size, action_dim, k_heads)
    return RecurrentActorCritic(torso, core, actor, critic, log_std)
