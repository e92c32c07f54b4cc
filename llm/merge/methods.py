"""Merge rules for one tensor: each takes the parents' arrays for one parameter and returns one.

Semantics follow mergekit 0.1.5 (``merge_methods/{linear,generalized_task_arithmetic,slerp}.py``)
unless stated; arithmetic is float32 (float64 for float64 inputs), the caller casts the result.

- linear (Wortsman et al. 2022, "Model soups"): ``sum_i w_i theta_i / sum_i w_i``.
- task arithmetic (Ilharco et al. 2023): ``theta_base + lambda * sum_i w_i tau_i``
  (divided by ``sum_i w_i`` when ``normalize``), ``tau_i = theta_i - theta_base``.
- TIES (Yadav et al. 2023): trim each ``w_i tau_i`` to its top-``density`` fraction by
  magnitude, elect a sign per entry (sign of the sum, ">= 0" is +, as mergekit's "sum"
  consensus), keep entries that agree with it (zeros never agree), divide by the sum of the
  agreeing weights (``normalize``), add ``lambda`` times that to the base.
- DARE (Yu et al. 2024): drop each entry of ``tau_i`` with probability ``1 - density`` and rescale
  the survivors by ``1 / density`` (the paper's rule, ``rescale="inverse"``); mergekit instead
  rescales so the L1 norm is unchanged (``rescale="l1"``, also offered). Then linear or TIES.
- SLERP (Shoemake 1985; as mergekit): the whole tensor is one vector; the angle between the
  normalised parents gives the coefficients, linear interpolation when ``|cos| > 0.9995``.
- MergeAlign (Thakkar et al. 2025, arXiv 2411.06824):
  ``theta_base + lambda tau_D + (1 - lambda) tau_A``, which is exactly
  ``lambda theta_D + (1 - lambda) theta_A``; computed in that form, so the base cancels and is
  not read, and lambda = 0 / 1 return the parents bit for bit.

Terms with a zero coefficient are skipped and coefficient-one terms are not rounded, so the
interpolating rules (linear, task arithmetic, SLERP, MergeAlign) return a parent bit for bit at
their endpoints.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CONSENSUS = ("sum", "count")
RESCALE = ("inverse", "l1", None)


def work_dtype(*arrays: np.ndarray) -> np.dtype:
    """float64 when any input is float64, else float32 (as mergekit)."""
    return np.dtype(np.float64 if any(a.dtype == np.float64 for a in arrays) else np.float32)


def weighted_sum(terms: Sequence[tuple[float, np.ndarray]], dtype) -> np.ndarray:
    """``sum c_i x_i`` in ``dtype``, skipping zero coefficients (0 when all are zero)."""
    out = None
    for c, x in terms:
        if c == 0:
            continue
        x = np.asarray(x, dtype)
        term = x.copy() if c == 1 else x * dtype.type(c)
        out = term if out is None else np.add(out, term, out=out)
    if out is None:
        return np.zeros(np.shape(terms[0][1]), dtype)
    return out


def linear(tensors: Sequence[np.ndarray], weights: Sequence[float], *,
           normalize: bool = True) -> np.ndarray:
    """``sum w_i theta_i`` (over ``sum w_i`` when ``normalize``)."""
    total = float(sum(weights))
    scale = total if normalize and abs(total) > 0 else 1.0
    dtype = work_dtype(*tensors)
    return weighted_sum([(w / scale, t) for w, t in zip(weights, tensors)], dtype)


def task_arithmetic(base: np.ndarray, tensors: Sequence[np.ndarray], weights: Sequence[float], *,
                    lam: float = 1.0, normalize: bool = False) -> np.ndarray:
    """``theta_base + lam * sum w_i tau_i / D`` with ``D = sum w_i`` if ``normalize`` else 1.

    Computed as ``(1 - sum c_i) theta_base + sum c_i theta_i`` with ``c_i = lam w_i / D`` (the same
    value; exact endpoints). mergekit treats ``|sum w_i| < 1e-8`` as 1, and so does this.
    """
    total = float(sum(weights))
    divisor = total if normalize and abs(total) >= 1e-8 else 1.0
    coeffs = [lam * w / divisor for w in weights]
    dtype = work_dtype(base, *tensors)
    return weighted_sum([(1.0 - sum(coeffs), base), *zip(coeffs, tensors)], dtype)


def mergealign(domain: np.ndarray, aligned: np.ndarray, lam: float) -> np.ndarray:
    """MergeAlign: ``theta_base + lam tau_D + (1 - lam) tau_A = lam theta_D + (1-lam) theta_A``."""
    return weighted_sum([(lam, domain), (1.0 - lam, aligned)], work_dtype(domain, aligned))


# --- sparsification (TIES trimming, DARE dropping) --------------------------------------------


def magnitude_mask(delta: np.ndarray, density: float) -> np.ndarray:
    """Boolean mask of the ``max(1, int(density * n))`` largest ``|delta|`` entries (all when
    ``density >= 1``, none when ``<= 0``), as mergekit's ``sparsify.magnitude``."""
    if density >= 1:
        return np.ones(delta.shape, bool)
    if density <= 0 or delta.size == 0:
        return np.zeros(delta.shape, bool)
    k = max(1, int(density * delta.size))
    flat = np.abs(delta).reshape(-1)
    keep = np.argpartition(-flat, k - 1)[:k]
    mask = np.zeros(delta.size, bool)
    mask[keep] = True
    return mask.reshape(delta.shape)


def random_mask(rng: np.random.Generator, shape, density: float) -> np.ndarray:
    """Keep each entry independently with probability ``density`` (DARE's Bernoulli drop)."""
    if density >= 1:
        return np.ones(shape, bool)
    return rng.random(shape, dtype=np.float32) < density


def rescale(delta: np.ndarray, mask: np.ndarray, density: float, how: str | None) -> np.ndarray:
    """``delta * mask`` rescaled: ``inverse`` multiplies by 1/density (DARE), ``l1`` restores the
    L1 norm (mergekit's ``rescale: true``; left alone when either norm is < 1e-7), None keeps it."""
    kept = np.where(mask, delta, delta.dtype.type(0))
    if how is None or density >= 1:
        return kept
    if how == "inverse":
        return kept * delta.dtype.type(1.0 / density) if density > 0 else kept
    if how == "l1":
        before, after = np.abs(delta).sum(), np.abs(kept).sum()
        if before < 1e-7 or after < 1e-7:
            return kept
        return kept * (before / after)
    raise ValueError(f"rescale={how!r}: expected one of {RESCALE}")


def consensus_mask(deltas: np.ndarray, method: str = "sum") -> np.ndarray:
    """TIES sign election over stacked weighted deltas [n, ...]: True where an entry's sign equals
    the elected sign (sign of the sum for "sum", of the sign count for "count"; ties go to +)."""
    sign = np.sign(deltas)
    if method == "sum":
        majority = np.where(deltas.sum(axis=0) >= 0, 1.0, -1.0)
    elif method == "count":
        majority = np.where(sign.sum(axis=0) >= 0, 1.0, -1.0)
    else:
        raise ValueError(f"consensus={method!r}: expected one of {CONSENSUS}")
    return sign == majority


def sparse_task_merge(base: np.ndarray, tensors: Sequence[np.ndarray], weights: Sequence[float],
                      masks: Sequence[np.ndarray], densities: Sequence[float], *,
                      consensus: str | None, rescale_how: str | None, normalize: bool,
                      lam: float = 1.0) -> np.ndarray:
    """The generalised task-arithmetic merge behind TIES and DARE, given the keep ``masks``.

    ``tau_i`` is masked and rescaled, multiplied by ``w_i``; with ``consensus`` only entries that
    agree with the elected sign are summed and the divisor is the sum of their weights (per
    entry, 0 -> 1), otherwise the divisor is ``sum w_i`` (|.| < 1e-8 -> 1); dividing happens only
    when ``normalize``. Result: ``theta_base + lam * merged``.
    """
    dtype = work_dtype(base, *tensors)
    b = np.asarray(base, dtype)
    deltas = np.empty((len(tensors), *b.shape), dtype)
    for i, (t, m, d) in enumerate(zip(tensors, masks, densities)):
        deltas[i] = rescale(np.asarray(t, dtype) - b, m, d, rescale_how)
    w = np.asarray(weights, dtype).reshape((-1,) + (1,) * b.ndim)
    deltas *= w
    if consensus is not None:
        agree = consensus_mask(deltas, consensus)
        mixed = np.where(agree, deltas, dtype.type(0)).sum(axis=0)
        divisor = np.where(agree, w, dtype.type(0)).sum(axis=0)
        divisor = np.where(divisor == 0, dtype.type(1), divisor)
    else:
        mixed = deltas.sum(axis=0)
        divisor = w.sum(axis=0)
        divisor = np.where(np.abs(divisor) < 1e-8, dtype.type(1), divisor)
    del deltas
    if normalize:
        mixed = mixed / divisor
    if lam != 1:
        mixed = mixed * dtype.type(lam)
    return (b + mixed).astype(dtype, copy=False)


def ties(base, tensors, weights, densities, *, lam=1.0, normalize=True, consensus="sum"):
    """TIES-merging: magnitude trim, sign election, disjoint (weighted) mean."""
    dtype = work_dtype(base, *tensors)
    masks = [magnitude_mask(np.asarray(t, dtype) - np.asarray(base, dtype), d)
             for t, d in zip(tensors, densities)]
    return sparse_task_merge(base, tensors, weights, masks, densities, consensus=consensus,
                             rescale_how=None, normalize=normalize, lam=lam)


def dare(rng: np.random.Generator, base, tensors, weights, densities, *, ties: bool,
         lam=1.0, normalize=False, rescale_how="inverse", consensus="sum"):
    """DARE: random drop and rescale of each task vector, then linear (``ties=False``) or TIES."""
    masks = [random_mask(rng, np.shape(base), d) for d in densities]
    return sparse_task_merge(base, tensors, weights, masks, densities,
                             consensus=consensus if ties else None, rescale_how=rescale_how,
                             normalize=normalize, lam=lam)


def slerp(t: float, v0: np.ndarray, v1: np.ndarray, *, dot_threshold: float = 0.9995,
          eps: float = 1e-8) -> np.ndarray:
    """Spherical interpolation from ``v0`` (t = 0) to ``v1`` (t = 1) of the flattened tensors.

    As mergekit: cos = <v0/|v0|, v1/|v1|> (norms below ``eps`` count as 1), clipped to [-1, 1];
    when ``|cos| > dot_threshold`` the coefficients are (1 - t, t), else
    ``sin((1-t) theta) / sin theta`` and ``sin(t theta) / sin theta`` applied to the unnormalised
    tensors. Norms and the angle are computed in float64.
    """
    dtype = work_dtype(v0, v1)
    if t == 0:
        return np.asarray(v0, dtype).copy()
    if t == 1:
        return np.asarray(v1, dtype).copy()
    a = np.asarray(v0, np.float64).reshape(-1)
    b = np.asarray(v1, np.float64).reshape(-1)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    na, nb = (na if na > eps else 1.0), (nb if nb > eps else 1.0)
    dot = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0)) if a.size else 1.0
    del a, b
    if abs(dot) > dot_threshold:
        ca, cb = 1.0 - t, t
    else:
        theta = np.arccos(dot)
        ca, cb = np.sin((1 - t) * theta) / np.sin(theta), np.sin(t * theta) / np.sin(theta)
    return weighted_sum([(float(ca), v0), (float(cb), v1)], dtype)
