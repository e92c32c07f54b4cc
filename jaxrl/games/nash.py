"""Nash equilibria of a bimatrix game by support enumeration (Nisan et al., *Algorithmic Game
Theory*, 2007, §3.3; the algorithm of nashpy's ``support_enumeration``).

For every pair of supports ``I ⊆ rows``, ``J ⊆ columns`` of equal size ``k``, solve the
indifference conditions: ``y`` on ``J`` makes agent 0 indifferent over ``I``
(``A[I, J] y_J = u``) and ``x`` on ``I`` makes agent 1 indifferent over ``J``
(``x_I B[I, J] = v``), with probabilities summing to one. A solution is an equilibrium when
both are non-negative and no action outside a support pays more. In a nondegenerate game
(every game of :mod:`envs.games.named`) every equilibrium has supports of equal size, so this
finds all of them; in a degenerate game it finds the equilibria with equal-size supports
(components of equilibria may be represented by some of their points only).

Runs in NumPy (float64) on concrete arrays: the number of equilibria is not a static shape.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from envs.games.payoffs import validate_payoffs


class Equilibrium(NamedTuple):
    row: np.ndarray  # agent 0's mixed strategy (n,)
    column: np.ndarray  # agent 1's mixed strategy (m,)
    payoffs: tuple[float, float]  # expected reward of agent 0 and agent 1


def _indifferent(matrix: np.ndarray, tol: float):
    """``(y, u)`` with ``matrix @ y = u·1``, ``Σ y = 1``, or ``None`` if no unique solution."""
    k = matrix.shape[0]
    system = np.zeros((k + 1, k + 1))
    system[:k, :k] = matrix
    system[:k, k] = -1.0
    system[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    if abs(np.linalg.det(system)) < tol:
        return None
    solution = np.linalg.solve(system, rhs)
    return solution[:k], solution[k]


def support_enumeration(payoffs, tol: float = 1e-9) -> list[Equilibrium]:
    """All Nash equilibria of the ``(2, n, m)`` game (see the module docstring)."""
    a, b = np.asarray(validate_payoffs(payoffs), np.float64)
    n, m = a.shape
    found: list[Equilibrium] = []
    for k in range(1, min(n, m) + 1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.combinations(range(m), k):
                col_solution = _indifferent(a[np.ix_(rows, cols)], tol)
                row_solution = _indifferent(b[np.ix_(rows, cols)].T, tol)
                if col_solution is None or row_solution is None:
                    continue
                (y_j, u), (x_i, v) = col_solution, row_solution
                if np.any(y_j < -tol) or np.any(x_i < -tol):
                    continue
                x, y = np.zeros(n), np.zeros(m)
                x[list(rows)], y[list(cols)] = x_i, y_j
                if np.any(a @ y > u + 1e-7) or np.any(x @ b > v + 1e-7):
                    continue
                x, y = np.clip(x, 0, None), np.clip(y, 0, None)
                if any(np.allclose(x, e.row) and np.allclose(y, e.column) for e in found):
                    continue
                found.append(Equilibrium(x, y, (float(x @ a @ y), float(x @ b @ y))))
    return found
