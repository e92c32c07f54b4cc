"""Recurrent cells behind one contract shared by every recurrent agent.

A *cell* is an ``eqx.Module`` with

- ``initial_state() -> state``: the state of ONE sequence (no batch axis; callers ``vmap``),
  any pytree of arrays;
- ``__call__(state, x) -> (new_state, y)`` with ``x`` a 1-D feature vector and ``y`` a 1-D
  output of length ``out_size`` (a static int attribute).

So a sequence is ``lax.scan(lambda s, x: cell(s, x), cell.initial_state(), xs)`` (wrap the
cell in a lambda: ``lax.scan`` hashes its function, and a module holding traced arrays is
unhashable) and an episode boundary resets with
``jax.tree.map(lambda s0, s: jnp.where(done, s0, s), cell.initial_state(), state)``.

``LSTMCell`` (Hochreiter & Schmidhuber 1997, with forget gate, Gers et al. 2000) and ``GRUCell``
(Cho et al. 2014, in the PyTorch/cuDNN form where the reset gate multiplies ``W_hn h + b_hn``)
wrap the Equinox cells and keep their initialisation, U(-1/√hidden, 1/√hidden) as in PyTorch.
The initial state is zeros.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


def _check_sizes(in_size: int, hidden: int) -> None:
    if in_size < 1:
        raise ValueError(f"in_size must be positive, got {in_size}")
    if hidden < 1:
        raise ValueError(f"hidden must be positive, got {hidden}")


class LSTMCell(eqx.Module):
    """LSTM cell; state ``(h, c)``, output ``h``."""

    cell: eqx.nn.LSTMCell
    out_size: int = eqx.field(static=True)

    def __init__(self, in_size: int, hidden: int, key: jax.Array):
        _check_sizes(in_size, hidden)
        self.cell = eqx.nn.LSTMCell(in_size, hidden, key=key)
        self.out_size = hidden

    def initial_state(self) -> tuple[jax.Array, jax.Array]:
        zeros = jnp.zeros(self.out_size, self.cell.weight_hh.dtype)
        return (zeros, zeros)

    def __call__(self, state: tuple[jax.Array, jax.Array], x: jax.Array):
        h, c = self.cell(x, state)
        return (h, c), h


class GRUCell(eqx.Module):
    """GRU cell; state ``h``, output ``h``."""

    cell: eqx.nn.GRUCell
    out_size: int = eqx.field(static=True)

    def __init__(self, in_size: int, hidden: int, key: jax.Array):
        _check_sizes(in_size, hidden)
        self.cell = eqx.nn.GRUCell(in_size, hidden, key=key)
        self.out_size = hidden

    def initial_state(self) -> jax.Array:
        return jnp.zeros(self.out_size, self.cell.weight_hh.dtype)

    def __call__(self, state: jax.Array, x: jax.Array):
        h = self.cell(x, state)
        return h, h
