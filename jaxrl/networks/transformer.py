"""A small pre-LayerNorm Transformer encoder (Vaswani et al. 2017, with the pre-LN placement of
Xiong et al. 2020) and a sliding-window recurrent cell built on it.

``TransformerEncoder`` maps ``[T, in_size] -> [T, d_model]``: a linear input embedding plus a
learned positional embedding, ``num_layers`` blocks of
``x + MHA(LN(x))`` then ``x + W2 gelu(W1 LN(x))`` and a final LayerNorm (as GPT-2/ViT do).
An optional boolean key mask ``[T]`` (True = valid) keeps masked positions from being attended
to; their inputs are zeroed on entry and their outputs are zeros, so nothing about them leaks.
``causal=True`` lets position ``t`` attend only to positions ``<= t``.

Choices where the papers are silent: exact (erf) GELU, biases on every projection and the
layers' default initialisation, matching ``torch.nn.TransformerEncoderLayer(norm_first=True,
activation="gelu")`` so that it is a reference; positional embeddings start at N(0, 0.02²)
(GPT-2). No dropout (RL use), so every pytree leaf is an array.

``TransformerCell`` follows the recurrent-cell contract of ``jaxrl.networks.rnn``: its state is a
shift buffer of the last ``window`` inputs (newest in the last slot) with a validity mask; each
call shifts ``x`` in and returns the encoding at the newest slot, attending only to valid slots.
Position embeddings index slots of the window, so after ``window`` or more steps the output
equals ``encoder(last_window_inputs)[-1]``. Each step re-encodes the whole window
(``O(window²)``), which is fine for the short windows it is meant for.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp


def _gelu(x: jax.Array) -> jax.Array:
    return jax.nn.gelu(x, approximate=False)


class EncoderBlock(eqx.Module):
    """One pre-LN block: ``x + MHA(LN(x))`` then ``x + MLP(LN(x))`` on ``[T, d_model]``."""

    ln1: eqx.nn.LayerNorm
    attn: eqx.nn.MultiheadAttention
    ln2: eqx.nn.LayerNorm
    fc1: eqx.nn.Linear
    fc2: eqx.nn.Linear

    def __init__(self, d_model: int, num_heads: int, mlp_hidden: int, key: jax.Array):
        ka, k1, k2 = jax.random.split(key, 3)
        self.ln1 = eqx.nn.LayerNorm(d_model)
        attn = eqx.nn.MultiheadAttention(
            num_heads, d_model, use_query_bias=True, use_key_bias=True, use_value_bias=True,
            use_output_bias=True, key=ka,
        )
        # Drop its Dropout: its `p` and `inference` are non-array pytree leaves, which would
        # break `jax.jit(f)(model)` and scan carries holding the model.
        self.attn = eqx.tree_at(lambda m: m.dropout, attn, None)
        self.ln2 = eqx.nn.LayerNorm(d_model)
        self.fc1 = eqx.nn.Linear(d_model, mlp_hidden, key=k1)
        self.fc2 = eqx.nn.Linear(mlp_hidden, d_model, key=k2)

    def __call__(self, x: jax.Array, allowed: jax.Array) -> jax.Array:
        """``allowed[q, k]`` is True where query ``q`` may attend to key ``k`` (Equinox's
        ``MultiheadAttention`` mask semantics: False = ignored)."""
        h = jax.vmap(self.ln1)(x)
        x = x + self.attn(h, h, h, mask=allowed)
        h = jax.vmap(self.ln2)(x)
        return x + jax.vmap(self.fc2)(_gelu(jax.vmap(self.fc1)(h)))


class TransformerEncoder(eqx.Module):
    """``[T, in_size] -> [T, d_model]`` with ``T <= max_len``; see the module docstring."""

    embed: eqx.nn.Linear
    pos: jax.Array
    blocks: tuple[EncoderBlock, ...]
    ln_f: eqx.nn.LayerNorm
    in_size: int = eqx.field(static=True)
    max_len: int = eqx.field(static=True)
    causal: bool = eqx.field(static=True)
    out_size: int = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        d_model: int,
        num_layers: int,
        num_heads: int,
        mlp_ratio: float,
        key: jax.Array,
        max_len: int,
        causal: bool = False,
    ):
        for name, value in (("in_size", in_size), ("d_model", d_model),
                            ("num_layers", num_layers), ("num_heads", num_heads),
                            ("max_len", max_len)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        if not mlp_ratio > 0:
            raise ValueError(f"mlp_ratio must be positive, got {mlp_ratio!r}")
        mlp_hidden = max(1, round(mlp_ratio * d_model))
        ke, kp, *kb = jax.random.split(key, num_layers + 2)
        self.embed = eqx.nn.Linear(in_size, d_model, key=ke)
        self.pos = 0.02 * jax.random.normal(kp, (max_len, d_model))
        self.blocks = tuple(EncoderBlock(d_model, num_heads, mlp_hidden, k) for k in kb)
        self.ln_f = eqx.nn.LayerNorm(d_model)
        self.in_size = in_size
        self.max_len = max_len
        self.causal = bool(causal)
        self.out_size = d_model

    def __call__(self, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
        """``x``: ``[T, in_size]``; ``mask``: optional bool ``[T]``, True = valid position."""
        if x.ndim != 2 or x.shape[1] != self.in_size:
            raise ValueError(f"x must have shape [T, {self.in_size}], got {x.shape}")
        t = x.shape[0]
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds max_len={self.max_len}")
        allowed = jnp.ones((t, t), bool)
        if mask is not None:
            if mask.shape != (t,):
                raise ValueError(f"mask must have shape ({t},), got {mask.shape}")
            mask = mask.astype(bool)
            x = jnp.where(mask[:, None], x, 0)
            allowed = allowed & mask[None, :]
        if self.causal:
            allowed = allowed & jnp.tril(jnp.ones((t, t), bool))
        h = jax.vmap(self.embed)(x) + self.pos[:t]
        for block in self.blocks:
            h = block(h, allowed)
        h = jax.vmap(self.ln_f)(h)
        if mask is not None:
            h = jnp.where(mask[:, None], h, 0)
        return h


class WindowState(NamedTuple):
    """The last ``window`` inputs (newest last) and which slots hold a real input."""

    inputs: jax.Array  # [window, in_size]
    valid: jax.Array  # [window] bool


class TransformerCell(eqx.Module):
    """Recurrent cell over a sliding window of inputs, encoded by a ``TransformerEncoder``."""

    encoder: TransformerEncoder
    window: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        d_model: int,
        num_layers: int,
        num_heads: int,
        window: int,
        key: jax.Array,
        mlp_ratio: float = 4,
        causal: bool = False,
    ):
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be a positive int, got {window!r}")
        self.encoder = TransformerEncoder(in_size, d_model, num_layers, num_heads, mlp_ratio,
                                          key, max_len=window, causal=causal)
        self.window = window
        self.out_size = d_model

    def initial_state(self) -> WindowState:
        return WindowState(
            inputs=jnp.zeros((self.window, self.encoder.in_size), self.encoder.pos.dtype),
            valid=jnp.zeros((self.window,), bool),
        )

    def __call__(self, state: WindowState, x: jax.Array) -> tuple[WindowState, jax.Array]:
        if x.shape != (self.encoder.in_size,):
            raise ValueError(f"x must have shape ({self.encoder.in_size},), got {x.shape}")
        inputs = jnp.concatenate([state.inputs[1:], x[None].astype(state.inputs.dtype)])
        valid = jnp.concatenate([state.valid[1:], jnp.ones((1,), bool)])
        y = self.encoder(inputs, valid)[-1]
        return WindowState(inputs, valid), y
