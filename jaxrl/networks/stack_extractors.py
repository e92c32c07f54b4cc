"""Feature extractors over a stack of κ observations (Adaptive Stacking, Nangue Tasse et al.
2025, §6; sizes of the reference code: features 256, hidden 128).

The stack ``[κ, *obs_shape]`` is read as a sequence of κ slots, oldest first:

* ``mlp``: the flattened stack, then separate actor and critic MLPs of three tanh layers of 128
  (the reference's ``net_arch=[128, 128, 128]``);
* ``lstm``: an LSTM of 128 over the slots, its last hidden state projected to 256 features;
* ``transformer``: a linear embedding of 128 plus learned positions, two causal pre-LN
  Transformer blocks with 4 heads, mean pooling over slots, a projection to 256 features.

After the ``lstm``/``transformer`` features, actor and critic MLPs of two tanh layers of 64
(Stable-Baselines3's default ``net_arch``, which the reference keeps for these extractors).
The ``lstm`` extractor over an :class:`envs.memory.AdaptiveStack` is the paper's recurrent
variant: the recurrence runs, at every step and in the gradient, over exactly the κ time steps
the memory actions kept, which is the truncated-BPTT window the reference's recurrent rollout
buffer assembles from the same pop/push rule; the difference is that no hidden state is carried
in from before the window (it starts from zeros).

Choice where the reference differs: its Transformer is a ``TransformerDecoder`` whose
cross-attention reads the same sequence again (post-LN, dropout 0.1); here it is the project's
causal pre-LN encoder without dropout, so attention cost is the same ``O(κ²)``.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.networks.actor_critic import ActorCritic
from jaxrl.networks.build import action_info
from jaxrl.networks.dense import Dense
from jaxrl.networks.init import linear
from jaxrl.networks.mlp import MLP
from jaxrl.networks.rnn import LSTMCell
from jaxrl.networks.transformer import TransformerEncoder

EXTRACTORS = ("mlp", "lstm", "transformer")
FEATURES, HIDDEN, HEADS, LAYERS = 256, 128, 4, 2


class Flatten(eqx.Module):
    def __call__(self, stack):
        return stack.reshape(-1).astype(jnp.float32)


class LSTMExtractor(eqx.Module):
    cell: LSTMCell
    proj: Dense

    def __init__(self, slot_size: int, key, hidden: int = HIDDEN, features: int = FEATURES):
        k1, k2 = jax.random.split(key)
        self.cell = LSTMCell(slot_size, hidden, k1)
        self.proj = linear(hidden, features, k2, 2**0.5)

    def __call__(self, stack):
        slots = stack.reshape(stack.shape[0], -1).astype(jnp.float32)
        cell = self.cell
        _, ys = jax.lax.scan(lambda s, x: cell(s, x), cell.initial_state(), slots)
        return self.proj(ys[-1])


class TransformerExtractor(eqx.Module):
    encoder: TransformerEncoder
    proj: Dense

    def __init__(self, slot_size: int, num_slots: int, key, d_model: int = HIDDEN,
                 features: int = FEATURES):
        k1, k2 = jax.random.split(key)
        self.encoder = TransformerEncoder(slot_size, d_model, LAYERS, HEADS, 4, k1,
                                          max_len=num_slots, causal=True)
        self.proj = linear(d_model, features, k2, 2**0.5)

    def __call__(self, stack):
        slots = stack.reshape(stack.shape[0], -1).astype(jnp.float32)
        return self.proj(self.encoder(slots).mean(axis=0))


def make_stack_actor_critic(extractor: str):
    """``network_fn(key, obs_shape, action_space)`` for PPO's ``make_train`` over stacks."""
    if extractor not in EXTRACTORS:
        raise ValueError(f"unknown extractor {extractor!r}; expected one of {EXTRACTORS}")

    def network_fn(key, obs_shape, action_space):
        _, action_dim = action_info(action_space)
        k_torso, k_actor, k_critic = jax.random.split(key, 3)
        num_slots, slot_size = obs_shape[0], int(np.prod(obs_shape[1:]))
        if extractor == "mlp":
            torso, size, hidden = Flatten(), num_slots * slot_size, (HIDDEN,) * 3
        elif extractor == "lstm":
            torso, size, hidden = LSTMExtractor(slot_size, k_torso), FEATURES, (64, 64)
        else:
            torso = TransformerExtractor(slot_size, num_slots, k_torso)
            size, hidden = FEATURES, (64, 64)
        actor = MLP(size, hidden, action_dim, k_actor, "tanh", out_scale=0.01)
        critic = MLP(size, hidden, 1, k_critic, "tanh", out_scale=1.0)
        return ActorCritic(actor, critic, torso, None)

    return network_fn
