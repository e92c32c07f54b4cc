"""Similarity of merged models' parents, as studied in the MergeAlign paper (Thakkar et al. 2025).

- ``task_vector_cosines``: per layer, the cosine between two task vectors ``theta_i - theta_base``
  (all tensors of a layer concatenated), streamed tensor by tensor.
- ``parent_contributions``: per layer, the least-squares coefficients ``c`` of the merge's task
  vector on the parents' task vectors, ``tau_M ~ sum_i c_i tau_i``, and the fraction of
  ``|tau_M|^2`` they leave unexplained. For task arithmetic / MergeAlign the coefficients are the
  merge weights and the residual 0; TIES and DARE show how much each parent actually survived.
  (The paper does not define a contribution measure; this is our choice.)
- ``linear_cka`` (Kornblith et al. 2019, eq. 5 with linear kernels):
  ``|Y^T X|_F^2 / (|X^T X|_F |Y^T Y|_F)`` on column-centred features, and ``hidden_state_cka``
  applies it per decoder layer to two models' hidden states at the same (non-pad) tokens.

Layer groups: ``embed`` (embed_tokens), ``layer.<i>`` (everything under model.layers.<i>),
``norm`` (final norm), ``lm_head``, ``all``.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np

from llm.merge.parents import Parent, check_compatible

_LAYER = re.compile(r"(?:^|\.)layers\.(\d+)\.")


def layer_group(name: str) -> str:
    """The layer group of a Hugging Face tensor name."""
    m = _LAYER.search(name)
    if m:
        return f"layer.{int(m.group(1))}"
    if "embed_tokens" in name:
        return "embed"
    if name.startswith("lm_head"):
        return "lm_head"
    return "norm"


def _open(paths) -> list[Parent]:
    parents = [p if isinstance(p, Parent) else Parent(p) for p in paths]
    check_compatible(parents)
    return parents


def _grams(base, parents) -> dict[str, np.ndarray]:
    """Per group, the Gram matrix of the parents' task vectors (float64), streamed."""
    base, *parents = _open([base, *parents])
    names = [n for n in base.names() if not (n == "lm_head.weight"
                                             and all(p.tied for p in [base, *parents]))]
    k = len(parents)
    grams: dict[str, np.ndarray] = {}
    for name in names:
        b = base.read(name).astype(np.float64)
        taus = [p.read(name).astype(np.float64).reshape(-1) - b.reshape(-1) for p in parents]
        g = np.array([[np.dot(taus[i], taus[j]) for j in range(k)] for i in range(k)])
        for group in (layer_group(name), "all"):
            grams[group] = grams.get(group, 0) + g
    return grams


def task_vector_cosines(base, a, b) -> dict[str, float]:
    """Per layer group (and ``all``), cos(tau_a, tau_b); NaN where a task vector is zero."""
    out = {}
    for group, g in _grams(base, [a, b]).items():
        denom = np.sqrt(g[0, 0] * g[1, 1])
        out[group] = float(g[0, 1] / denom) if denom > 0 else float("nan")
    return out


def parent_contributions(base, parents, merged) -> dict[str, dict[str, object]]:
    """Per layer group (and ``all``): ``{"coefficients": [c_i per parent], "residual": r}`` with
    ``c`` minimising ``|tau_M - sum c_i tau_i|^2`` and ``r`` that minimum over ``|tau_M|^2``."""
    out = {}
    k = len(parents)
    for group, g in _grams(base, [*parents, merged]).items():
        gp, cross, mm = g[:k, :k], g[:k, k], g[k, k]
        coef = np.linalg.lstsq(gp, cross, rcond=None)[0]
        resid = mm - 2 * coef @ cross + coef @ gp @ coef
        out[group] = {"coefficients": [float(c) for c in coef],
                      "residual": float(max(resid, 0.0) / mm) if mm > 0 else 0.0}
    return out


def linear_cka(x, y) -> float:
    """Linear CKA of features x [n, d1] and y [n, d2] over the same n samples."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_cka: expected [n, d] arrays with the same n, got {x.shape} "
                         f"and {y.shape}")
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    cross = np.linalg.norm(y.T @ x) ** 2
    denom = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(cross / denom) if denom > 0 else float("nan")


def layer_hidden_states(model, tokens, attention_mask) -> list[jax.Array]:
    """The output [B, T, hidden] of every decoder layer of an ``llm.Qwen`` (before the final
    norm), with the masking and positions of ``Qwen.hidden_states``. Runs eagerly (a few calls
    per analysis do not repay compiling the unrolled layers)."""
    from llm.rope import rope_angles

    tokens = jnp.asarray(tokens)
    am = jnp.asarray(attention_mask).astype(bool)
    t = tokens.shape[1]
    positions = jnp.maximum(jnp.cumsum(am, axis=1) - 1, 0)
    mask = jnp.tril(jnp.ones((t, t), bool))[None] & am[:, None, :]
    cos, sin = rope_angles(positions, model.config.head_dim, model.config.rope_theta)
    x = model.model.embed_tokens(tokens)
    out = []
    for layer in model.model.layers:
        x, _ = layer(x, cos, sin, mask, None, None)
        out.append(x)
    return out


def hidden_state_cka(model_a, model_b, tokens, attention_mask) -> list[float]:
    """Per decoder layer, linear CKA of the two models' hidden states over the real tokens."""
    keep = np.asarray(attention_mask).astype(bool).reshape(-1)
    ha = layer_hidden_states(model_a, tokens, attention_mask)
    hb = layer_hidden_states(model_b, tokens, attention_mask)
    return [linear_cka(np.asarray(a, np.float64).reshape(-1, a.shape[-1])[keep],
                       np.asarray(b, np.float64).reshape(-1, b.shape[-1])[keep])
            for a, b in zip(ha, hb)]
