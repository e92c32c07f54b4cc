"""Pipelined MLP (Anokhin et al. 2025): ``N`` dense layers of which each reads last tick's output
of the layer below, so one tick computes every layer at once.

Layers: ``first`` (observation -> width), ``N - 2`` same-width ``middle`` layers (stacked, see
:class:`~jaxrl.pipeline.stacked.Stacked`) and the ``head`` (-> ``out_size``, no activation). The
state is the activation of every hidden layer, ``[N - 1, width]`` (zeros initially); the head's
output is emitted in the tick that computes it. Variants in :mod:`jaxrl.pipeline.variants`; for
``skip`` the head reads ``concat(o_t, h¹_{t-1}, …, h^{N-1}_{t-1})``, for ``concat`` every layer
after the first reads ``concat(h^{i-1}_{t-1}, o_t)``.

* :meth:`tick` / :meth:`tick_sequential`: one tick, all middle layers in one batched operation or
  layer by layer (identical results).
* :meth:`forward`: the ordinary (undelayed) forward pass through the same layers; a pipeline fed a
  constant observation for ``N`` ticks outputs exactly this.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.networks.dense import Dense
from jaxrl.networks.init import linear
from jaxrl.networks.mlp import activation
from jaxrl.pipeline.stacked import Stacked
from jaxrl.pipeline.variants import VARIANTS


class PipelineMLP(eqx.Module):
    first: Dense | None
    middle: Stacked
    head: Dense
    depth: int = eqx.field(static=True)
    width: int = eqx.field(static=True)
    variant: str = eqx.field(static=True)
    act_name: str = eqx.field(static=True)

    def __init__(self, in_size: int, width: int, depth: int, out_size: int, key: jax.Array,
                 variant: str = "plain", activation_name: str = "tanh",
                 out_scale: float = 1.0):
        if variant not in VARIANTS:
            raise ValueError(f"variant={variant!r} is invalid: expected one of {VARIANTS}")
        if depth < 1 or width < 1:
            raise ValueError(f"depth={depth} and width={width} must both be >= 1")
        activation(activation_name)  # fails early on an unknown name
        k1, k2, k3 = jax.random.split(key, 3)
        extra = in_size if variant == "concat" else 0
        self.first = linear(in_size, width, k1) if depth > 1 else None
        self.middle = Stacked(max(depth - 2, 0), width + extra, width, k2)
        if depth == 1:
            head_in = in_size
        elif variant == "skip":
            head_in = in_size + (depth - 1) * width
        else:
            head_in = width + extra
        self.head = linear(head_in, out_size, k3, out_scale)
        self.depth, self.width, self.variant, self.act_name = depth, width, variant, activation_name

    def initial_state(self) -> jax.Array:
        return jnp.zeros((self.depth - 1, self.width), jnp.float32)

    def _middle_inputs(self, prev: jax.Array, obs: jax.Array) -> jax.Array:
        """Inputs of the middle layers from last tick's hidden activations ``prev[:-1]``."""
        xs = prev[:-1]
        if self.variant == "concat":
            xs = jnp.concatenate([xs, jnp.broadcast_to(obs, (xs.shape[0], obs.shape[0]))], -1)
        return xs

    def _head(self, hidden: jax.Array, obs: jax.Array) -> jax.Array:
        """Head on the hidden activations it reads (``[N - 1, width]``) and the fresh obs."""
        if self.depth == 1:
            x = obs
        elif self.variant == "skip":
            x = jnp.concatenate([obs, hidden.reshape(-1)])
        elif self.variant == "concat":
            x = jnp.concatenate([hidden[-1], obs])
        else:
            x = hidden[-1]
        return self.head(x)

    def _tick(self, state, obs, middle_fn):
        obs = obs.reshape(-1).astype(jnp.float32)
        act = activation(self.act_name)
        out = self._head(state, obs)
        if self.depth == 1:
            return state, out
        h1 = act(self.first(obs))[None]
        rest = act(middle_fn(self._middle_inputs(state, obs)))
        return jnp.concatenate([h1, rest]), out

    def tick(self, state: jax.Array, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        """One parallel tick: ``(new hidden state, output)`` from last tick's state."""
        return self._tick(state, obs, self.middle.apply_all)

    def tick_sequential(self, state, obs):
        """The same tick computed layer by layer."""
        return self._tick(state, obs, self.middle.apply_each)

    __call__ = tick

    def forward(self, obs: jax.Array) -> jax.Array:
        """The ordinary forward pass: every layer reads this tick's output of the layer below."""
        obs = obs.reshape(-1).astype(jnp.float32)
        if self.depth == 1:
            return self.head(obs)
        act = activation(self.act_name)
        hs = [act(self.first(obs))]
        for i in range(self.depth - 2):
            x = hs[-1] if self.variant != "concat" else jnp.concatenate([hs[-1], obs])
            hs.append(act(self.middle.layer(i, x)))
        return self._head(jnp.stack(hs), obs)
