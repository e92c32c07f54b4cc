"""Row replacements of a :class:`~jaxrl.agents.avg_reward.chain.PolicyChain`, deferred and
written into its inverse as one low-rank update.

An eager replacement (``chain.set_row``) multiplies the S×S inverse by a vector and rewrites all
of it (rank one); ρ-gradient replaces k + 1 rows per step (the counted row, then the rows of the
``steps`` states whose logits its gradient step moved), k + 1 products and rewrites.
Deferred, the inverse after j replacements is ``C_j = A⁻¹ − Σ_{i<j} x_i y_iᵀ / c_i`` with the
Sherman–Morrison terms ``x_i = C_i u_i``, ``y_i = e_{s_i}ᵀ C_i``, ``c_i = 1 + x_i[s_i]``, so a
product with ``C_j`` is one product with ``A⁻¹`` plus O(jS), :func:`set_rows` makes the products
of all its rows in one matrix product, and :func:`flush` writes the k terms at once
(``A⁻¹ − Xᵀ diag(1/c) Y``). The new rows of ``P_π`` wait in the slots too (:func:`row` reads
the current ones) and :func:`flush` scatters them into ``p`` once: written one by one, each
write made XLA copy the whole S×S matrix (twice inside ``set_rows``' loop): at 16 rooms, 10
seeds, ρ-gradient took 21.4 against 13.3 CPU-seconds per 1 000 steps without them (medians of
seven 100-step updates, one thread, in one process beside other work), the same numbers to the
bit. Same numbers as the eager updates up to round-off; in one process
beside the eager version, ρ-gradient at 16 rooms (400 states, 10 seeds) took 22 s per 1 000
steps against 28 s (a 2-core CPU shared with other work). Off-policy ρ, whose improvements each
depend on the one before, was slower deferred (11.1 against 9.8 s) and stays eager: with its
rows deferred as well it still took 12.9 against 11.6 CPU-seconds per 1 000 steps (medians of
eleven, 16 rooms), and its stationary law drifted further from an exact solve in 100 steps
(2.9e-3 against 2.4e-4 at most; ρ-gradient's deferred chain: 8e-6).

A :class:`DeferredChain` has a fixed number of slots (:func:`defer`); the caller replaces at
most that many rows before :func:`flush` (a traced count cannot be checked: extra replacements
overwrite the last slot).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrl.agents.avg_reward import chain as ch


class DeferredChain(eqx.Module):
    chain: ch.PolicyChain  # r current; p and inv from before the deferred replacements
    x: jax.Array  # [k, S] solved column changes C_i u_i
    y: jax.Array  # [k, S] rows s_i of C_i
    c: jax.Array  # [k] 1 + x_i[s_i] (1 in unused slots)
    states: jax.Array  # [k] s_i (S in unused slots)
    rows: jax.Array  # [k, S] the new rows s_i of P_π, written into p by ``flush``
    count: jax.Array  # slots used


def defer(chain: ch.PolicyChain, slots: int) -> DeferredChain:
    """``chain`` with ``slots`` empty slots for deferred replacements."""
    n = chain.p.shape[0]
    zeros = jnp.zeros((slots, n), chain.inv.dtype)
    return DeferredChain(chain, zeros, zeros, jnp.ones((slots,), chain.inv.dtype),
                         jnp.full((slots,), n, jnp.int32), zeros, jnp.zeros((), jnp.int32))


def _last_slot(dc: DeferredChain, s) -> jax.Array:
    """The last slot that replaced row ``s`` (``[...]``), -1 where none."""
    slots = jnp.arange(dc.states.shape[0])
    return jnp.max(jnp.where(dc.states == jnp.expand_dims(s, -1), slots, -1), axis=-1)


def row(dc: DeferredChain, s) -> jax.Array:
    """Row(s) ``s`` of the current ``P_π`` (``[..., S]`` for ``s`` of shape ``[...]``)."""
    last = _last_slot(dc, s)
    return jnp.where((last >= 0)[..., None], dc.rows[jnp.maximum(last, 0)], dc.chain.p[s])


def _final(states, n: int) -> jax.Array:
    """``states`` with each entry that a later one repeats set to ``n`` (out of range, so a
    scatter with ``mode="drop"`` keeps the last write of each index: XLA does not order the
    writes of repeated indices)."""
    order = jnp.arange(states.shape[0])
    later = (states[None, :] == states[:, None]) & (order[None, :] > order[:, None])
    return jnp.where(later.any(1), n, states)


def column_change(dc: DeferredChain, s, rows) -> jax.Array:
    """``chain.column_change`` against the current rows."""
    return (rows - row(dc, s)).at[..., 0].set(0.0)


def flush(dc: DeferredChain) -> ch.PolicyChain:
    """The chain with every deferred replacement written into ``p`` and its inverse."""
    inv = dc.chain.inv - dc.x.T @ (dc.y / dc.c[:, None])
    p = dc.chain.p.at[_final(dc.states, dc.chain.p.shape[0])].set(dc.rows, mode="drop")
    return ch.PolicyChain(p, dc.chain.r, inv)


def correct(dc: DeferredChain, v, explicit) -> jax.Array:
    """``C v`` for ``v`` (``[..., S]``) from ``explicit = A⁻¹ v`` (``v @ inv.T``)."""
    return explicit - ((v @ dc.y.T) / dc.c) @ dc.x


def solve(dc: DeferredChain, v) -> jax.Array:
    """``C v`` for ``v`` of shape ``[..., S]``."""
    return correct(dc, v, v @ dc.chain.inv.T)


def stationary(dc: DeferredChain) -> jax.Array:
    return dc.chain.inv[:, 0] - (dc.y[:, 0] / dc.c) @ dc.x


def gain(dc: DeferredChain) -> jax.Array:
    return stationary(dc) @ dc.chain.r


def _with_slot(dc: DeferredChain, s, new_row, bu) -> DeferredChain:
    """``dc`` with one more deferred replacement, of row ``s`` by ``new_row`` with
    ``C u = bu`` (``r`` untouched)."""
    y = dc.chain.inv[s] - (dc.x[:, s] / dc.c) @ dc.y
    k = dc.count
    return DeferredChain(dc.chain, dc.x.at[k].set(bu), dc.y.at[k].set(y),
                         dc.c.at[k].set(1.0 + bu[s]), dc.states.at[k].set(s),
                         dc.rows.at[k].set(new_row), k + 1)


def set_row(dc: DeferredChain, s, new_row, r, bu=None) -> DeferredChain:
    """Replace row ``s`` of ``P_π`` (and ``r_π[s]``); ``bu``: ``C u`` if already known."""
    if bu is None:
        bu = solve(dc, column_change(dc, s, new_row))
    dc = _with_slot(dc, s, new_row, bu)
    return eqx.tree_at(lambda d: d.chain, dc,
                       ch.PolicyChain(dc.chain.p, dc.chain.r.at[s].set(r), dc.chain.inv))


def set_rows(dc: DeferredChain, states, rows, rs) -> DeferredChain:
    """Replace rows ``states[j]`` by ``rows[j]`` (rewards ``rs[j]``) in order (a repeated state
    ends with its last row), with the products by ``A⁻¹`` of all rows in one matrix product."""
    k = states.shape[0]
    old_rows = row(dc, states)
    zero0 = lambda v: v.at[..., 0].set(0.0)  # noqa: E731
    explicit = zero0(jnp.concatenate([rows, old_rows])) @ dc.chain.inv.T
    new, old = explicit[:k], explicit[k:]
    first = dc.count  # slot of rows[0]

    def body(j, dc):
        s = states[j]
        last = _last_slot(dc, s) - first  # >= 0: row s was last set in this call, by rows[last]
        prev = jnp.where(last >= 0, new[jnp.maximum(last, 0)], old[j])
        u = column_change(dc, s, rows[j])
        return _with_slot(dc, s, rows[j], correct(dc, u, new[j] - prev))

    dc = jax.lax.fori_loop(0, k, body, dc)
    r = dc.chain.r.at[_final(states, dc.chain.r.shape[0])].set(rs, mode="drop")
    return eqx.tree_at(lambda d: d.chain, dc, ch.PolicyChain(dc.chain.p, r, dc.chain.inv))
