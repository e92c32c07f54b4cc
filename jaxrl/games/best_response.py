"""Best responses in a bimatrix game (jittable; vmap over opponents' strategies or games).

Against the other agent's mixed strategy ``σ``, agent ``k``'s action values are
``R_0 σ`` (agent 0) or ``R_1ᵀ σ`` (agent 1); a best response is any maximiser, and the
best-response value is their maximum. Ties go to the lowest action index, as ``argmax`` does.
"""

from __future__ import annotations

import jax.numpy as jnp


def action_values(payoffs, other_strategy, player: int):
    """Agent ``player``'s expected reward of each of its actions against ``other_strategy``."""
    payoffs = jnp.asarray(payoffs)
    if player == 0:
        return payoffs[0] @ other_strategy
    return payoffs[1].T @ other_strategy


def best_response(payoffs, other_strategy, player: int):
    """``(action, value)``: a pure best response of ``player`` and its expected reward."""
    values = action_values(payoffs, other_strategy, player)
    return jnp.argmax(values), jnp.max(values)


def best_response_value(payoffs, other_strategy, player: int):
    return jnp.max(action_values(payoffs, other_strategy, player))
