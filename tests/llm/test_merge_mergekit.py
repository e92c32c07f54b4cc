"""llm.merge against mergekit itself on tiny Hugging Face checkpoints, for the shared methods.

mergekit (in the test extra) runs in-process on CPU once per method on the same YAML config.
DARE: mergekit draws its drop masks with torch's generator and ours come from numpy, so the masks
cannot coincide; we replace mergekit's Bernoulli sampler by one that records its masks, give the
same masks to ``methods.sparse_task_merge`` and compare the rest exactly (mergekit's
``rescale: true`` is L1-norm matching, our ``rescale: l1``). Our own random masks are checked
statistically in test_merge_methods.py.
"""

import numpy as np
import pytest
import torch
from conftest import make_reference
from safetensors import safe_open

from llm.merge import MergeConfig, merge, methods


@pytest.fixture(scope="module")
def parents(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge_parents")
    dirs = [root / f"p{i}" for i in range(3)]
    for i, d in enumerate(dirs):
        make_reference("qwen2", d, seed=i)
    return dirs


@pytest.fixture(scope="module")
def mergekit_run():
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    def run(config: dict, out):
        options = MergeOptions(copy_tokenizer=False, quiet=True, write_model_card=False,
                               random_seed=0)
        run_merge(MergeConfiguration.model_validate(config), str(out), options)
        return read_all(out)

    return run


def read_all(directory):
    out = {}
    for f in sorted(directory.glob("*.safetensors")):
        with safe_open(f, framework="numpy") as g:
            out.update({k: g.get_tensor(k) for k in g.keys()})  # noqa: SIM118
    return out


def configs(p0, p1, p2):
    two = [{"model": str(p1), "parameters": {"weight": 0.7, "density": 0.5}},
           {"model": str(p2), "parameters": {"weight": 0.4, "density": 0.3}}]
    return {
        "linear": {"merge_method": "linear", "models": [
            {"model": str(p0), "parameters": {"weight": 0.2}},
            {"model": str(p1), "parameters": {"weight": 0.5}},
            {"model": str(p2), "parameters": {"weight": 0.6}}]},
        "task_arithmetic": {"merge_method": "task_arithmetic", "base_model": str(p0),
                            "models": two, "parameters": {"lambda": 0.8}},
        "ties": {"merge_method": "ties", "base_model": str(p0), "models": two},
        "ties_unnormalised": {"merge_method": "ties", "base_model": str(p0), "models": two,
                              "parameters": {"normalize": False, "lambda": 1.3}},
        "slerp": {"merge_method": "slerp", "base_model": str(p0),
                  "models": [{"model": str(p0)}, {"model": str(p1)}],
                  "parameters": {"t": [{"filter": "self_attn", "value": 0.3}, {"value": 0.6}]}},
    }


@pytest.mark.parametrize("name", ["linear", "task_arithmetic", "ties", "ties_unnormalised",
                                  "slerp"])
def test_same_tensors_as_mergekit(name, parents, mergekit_run, tmp_path):
    config = {**configs(*parents)[name], "dtype": "float32"}
    theirs = mergekit_run(config, tmp_path / "mergekit")
    merge(MergeConfig.from_dict(config), tmp_path / "ours")
    ours = read_all(tmp_path / "ours")
    assert sorted(ours) == sorted(theirs)  # tied: neither writes lm_head.weight
    base = read_all(parents[0])
    for key, want in theirs.items():
        assert ours[key].dtype == want.dtype == np.float32
        np.testing.assert_allclose(ours[key], want, rtol=1e-5, atol=2e-6, err_msg=key)
        assert not np.array_equal(ours[key], base[key]) or name == "slerp", key


@pytest.mark.parametrize("method", ["dare_linear", "dare_ties"])
def test_dare_matches_mergekit_given_the_same_masks(method, parents, mergekit_run, tmp_path,
                                                    monkeypatch):
    import mergekit.sparsify

    drawn = []  # (delta, mask) for every call of mergekit's sampler

    def recording_bernoulli(tensor, density, rescale_norm=None):
        gen = torch.Generator().manual_seed(len(drawn))
        mask = (torch.rand(tensor.shape, generator=gen) < density).to(tensor.dtype)
        drawn.append((tensor.numpy().copy(), mask.numpy().astype(bool)))
        return mergekit.sparsify.rescaled_masked_tensor(tensor, mask, rescale_norm)

    monkeypatch.setattr(mergekit.sparsify, "bernoulli", recording_bernoulli)
    p0, p1, p2 = parents
    densities, weights = [0.5, 0.3], [0.7, 0.4]
    config = {"merge_method": method, "base_model": str(p0), "dtype": "float32",
              "models": [{"model": str(p), "parameters": {"weight": w, "density": d}}
                         for p, w, d in zip((p1, p2), weights, densities)]}
    theirs = mergekit_run(config, tmp_path / "mergekit")
    assert len(drawn) == 2 * len(theirs)
    base, a, b = (read_all(p) for p in parents)
    for key, want in theirs.items():
        masks = []
        for parent in (a, b):
            delta = parent[key] - base[key]
            masks.append(next(m for d, m in drawn if d.shape == delta.shape
                              and np.array_equal(d, delta)))
        ours = methods.sparse_task_merge(base[key], [a[key], b[key]], weights, masks, densities,
                                         consensus="sum" if method == "dare_ties" else None,
                                         rescale_how="l1", normalize=False)
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=2e-6, err_msg=key)


def test_dare_end_to_end_differs_from_mergekit_only_by_masks(parents, mergekit_run, tmp_path):
    """Density 1 leaves DARE deterministic: then both tools agree tensor for tensor."""
    p0, p1, p2 = parents
    config = {"merge_method": "dare_ties", "base_model": str(p0), "dtype": "float32",
              "models": [{"model": str(p1), "parameters": {"weight": 0.7, "density": 1.0}},
                         {"model": str(p2), "parameters": {"weight": -0.4, "density": 1.0}}]}
    theirs = mergekit_run(config, tmp_path / "mergekit")
    merge(MergeConfig.from_dict(config), tmp_path / "ours")
    ours = read_all(tmp_path / "ours")
    for key, want in theirs.items():
        np.testing.assert_allclose(ours[key], want, rtol=1e-5, atol=2e-6, err_msg=key)
