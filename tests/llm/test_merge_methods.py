"""Merge rules of llm.merge.methods against direct float64 computations on small tensors."""

import numpy as np
import pytest

from llm.merge import methods

RNG = np.random.default_rng(0)
BASE = RNG.normal(size=(6, 5)).astype(np.float32)
PARENTS = [BASE + RNG.normal(scale=0.3, size=(6, 5)).astype(np.float32) for _ in range(3)]
WEIGHTS = [0.5, 0.3, -0.2]


def f64(x):
    return np.asarray(x, np.float64)


def test_linear_is_the_normalised_weighted_mean():
    want = sum(w * f64(t) for w, t in zip(WEIGHTS, PARENTS)) / sum(WEIGHTS)
    np.testing.assert_allclose(methods.linear(PARENTS, WEIGHTS), want, rtol=1e-5, atol=1e-5)
    raw = sum(w * f64(t) for w, t in zip(WEIGHTS, PARENTS))
    np.testing.assert_allclose(methods.linear(PARENTS, WEIGHTS, normalize=False), raw,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("normalize", [False, True])
def test_task_arithmetic_adds_scaled_task_vectors(normalize):
    lam = 0.7
    taus = [f64(t) - f64(BASE) for t in PARENTS]
    mixed = sum(w * tau for w, tau in zip(WEIGHTS, taus))
    if normalize:
        mixed = mixed / sum(WEIGHTS)
    want = f64(BASE) + lam * mixed
    got = methods.task_arithmetic(BASE, PARENTS, WEIGHTS, lam=lam, normalize=normalize)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_mergealign_is_base_plus_interpolated_vectors():
    base, dom, ali = BASE, PARENTS[0], PARENTS[1]
    for lam in (0.2, 0.5, 0.9):
        want = f64(base) + lam * (f64(dom) - f64(base)) + (1 - lam) * (f64(ali) - f64(base))
        np.testing.assert_allclose(methods.mergealign(dom, ali, lam), want, rtol=1e-5,
                                   atol=1e-5)


def test_endpoints_are_parents_bit_for_bit():
    a, b = PARENTS[0].copy(), PARENTS[1].copy()
    a[0, 0], b[0, 1] = -0.0, -0.0  # signed zeros survive too
    exact = np.testing.assert_array_equal
    for got, want in [(methods.mergealign(a, b, 1.0), a), (methods.mergealign(a, b, 0.0), b),
                      (methods.linear([a, b], [1.0, 0.0]), a),
                      (methods.linear([a, b], [0.0, 2.0]), b),
                      (methods.slerp(0.0, a, b), a), (methods.slerp(1.0, a, b), b),
                      (methods.task_arithmetic(BASE, [a, b], [0.0, 1.0]), b),
                      (methods.task_arithmetic(BASE, [a, b], [0.0, 0.0]), BASE),
                      (methods.ties(BASE, [a, b], [0.0, 0.0], [0.5, 0.5]), BASE)]:
        exact(got.view(np.uint32), want.view(np.uint32))


def test_magnitude_mask_keeps_the_largest_entries():
    delta = np.array([[0.1, -3.0, 0.5], [2.0, -0.2, 0.05]], np.float32)
    want = np.array([[False, True, False], [True, False, False]])
    np.testing.assert_array_equal(methods.magnitude_mask(delta, 0.4), want)  # int(2.4) = 2
    assert methods.magnitude_mask(delta, 0.01).sum() == 1  # at least one survives
    assert methods.magnitude_mask(delta, 1.0).all()


def ties_by_hand(base, tensors, weights, densities, lam, normalize):
    """TIES entry by entry with Python loops (Yadav et al. 2023, with mergekit's weighting)."""
    base = f64(base)
    n = base.size
    deltas = []
    for t, w, d in zip(tensors, weights, densities):
        tau = (f64(t) - base).reshape(-1)
        k = max(1, int(d * n))
        keep = set(np.argsort(-np.abs(tau))[:k].tolist()) if d < 1 else set(range(n))
        deltas.append([w * tau[j] if j in keep else 0.0 for j in range(n)])
    out = base.reshape(-1).copy()
    for j in range(n):
        column = [deltas[i][j] for i in range(len(tensors))]
        elected = 1.0 if sum(column) >= 0 else -1.0
        agree = [i for i, v in enumerate(column) if np.sign(v) == elected]
        total = sum(column[i] for i in agree)
        divisor = sum(weights[i] for i in agree) or 1.0
        out[j] += lam * (total / divisor if normalize else total)
    return out.reshape(base.shape)


@pytest.mark.parametrize("normalize", [True, False])
def test_ties_matches_entrywise_computation(normalize):
    weights, densities = [0.6, 0.3, 0.4], [0.5, 0.3, 1.0]
    got = methods.ties(BASE, PARENTS, weights, densities, lam=0.9, normalize=normalize)
    want = ties_by_hand(BASE, PARENTS, weights, densities, 0.9, normalize)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_ties_sign_election_on_a_hand_case():
    base = np.zeros(3, np.float32)
    a = np.array([1.0, -1.0, 2.0], np.float32)
    b = np.array([-3.0, -1.0, 1.0], np.float32)
    # entry 0: sum -2 -> elect -, only b agrees: -3/1; entry 1: both -, (-1-1)/2; entry 2: 3/2
    got = methods.ties(base, [a, b], [1.0, 1.0], [1.0, 1.0])
    np.testing.assert_allclose(got, [-3.0, -1.0, 1.5])


def test_dare_drops_with_probability_and_rescales_by_inverse_density():
    base = np.zeros((200, 200), np.float32)
    tau = np.ones_like(base)
    density = 0.3
    out = methods.dare(np.random.default_rng(1), base, [tau], [1.0], [density], ties=False)
    kept = out != 0
    n = kept.size
    # Bernoulli(density) keeps: the kept count is within 5 standard deviations of n * density
    assert abs(kept.sum() - n * density) < 5 * np.sqrt(n * density * (1 - density))
    np.testing.assert_allclose(out[kept], 1.0 / density, rtol=1e-6)


def test_dare_given_masks_matches_direct_computation():
    masks = [RNG.random(BASE.shape) < d for d in (0.5, 0.7, 0.9)]
    densities, weights = [0.5, 0.7, 0.9], [0.6, 0.3, 0.4]
    got = methods.sparse_task_merge(BASE, PARENTS, weights, masks, densities, consensus=None,
                                    rescale_how="inverse", normalize=False)
    want = f64(BASE) + sum(w * m * (f64(t) - f64(BASE)) / d
                           for w, m, t, d in zip(weights, masks, PARENTS, densities))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    l1 = methods.rescale(f64(PARENTS[0]) - f64(BASE), masks[0], 0.5, "l1")
    tau = f64(PARENTS[0]) - f64(BASE)
    np.testing.assert_allclose(np.abs(l1).sum(), np.abs(tau).sum(), rtol=1e-9)


def test_slerp_keeps_the_angle_and_falls_back_to_linear():
    theta = 1.0
    v0 = np.array([[2.0, 0.0]], np.float32)
    v1 = np.array([[3 * np.cos(theta), 3 * np.sin(theta)]], np.float32)
    t = 0.25
    ca, cb = np.sin((1 - t) * theta) / np.sin(theta), np.sin(t * theta) / np.sin(theta)
    np.testing.assert_allclose(methods.slerp(t, v0, v1), ca * f64(v0) + cb * f64(v1), rtol=1e-6)
    # on the unit circle the result is the rotated unit vector
    u = methods.slerp(t, v0 / 2, v1 / 3)
    np.testing.assert_allclose(u, [[np.cos(t * theta), np.sin(t * theta)]], rtol=1e-6)
    near = v0 * 1.0001
    np.testing.assert_allclose(methods.slerp(t, v0, near), (1 - t) * f64(v0) + t * f64(near),
                               rtol=1e-6)
