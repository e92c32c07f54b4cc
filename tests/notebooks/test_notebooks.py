"""Execute every notebook in notebooks/ top to bottom on CPU at small settings (NOTEBOOK_SMALL=1).

The kernel starts in the repository root, so the project imports without installing it (the
notebooks' first cell only installs when it cannot import). A cell that raises fails the test
with the cell's traceback. The quickstart runs in the default suite; the system notebooks train
and evaluate small versions of their experiments and are marked slow.
"""

from __future__ import annotations

import os
import pathlib

import pytest

nbformat = pytest.importorskip(
    "nbformat", reason="nbformat is not installed (pip install nbclient nbformat ipykernel)")
nbclient = pytest.importorskip(
    "nbclient", reason="nbclient is not installed (pip install nbclient nbformat ipykernel)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (the notebooks' kernel)")

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
QUICKSTART = "00_quickstart.ipynb"
SYSTEMS = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name != QUICKSTART)
TIMEOUT = 900  # seconds per cell


def execute(name: str, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.delenv("XLA_FLAGS", raising=False)  # one CPU device, as on a laptop
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT),
                                                                  os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    return nb


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def images(nb) -> int:
    return sum("image/png" in out.get("data", {})
               for cell in nb.cells for out in cell.get("outputs", []))


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def test_quickstart_runs_and_plots(monkeypatch):
    nb = execute(QUICKSTART, monkeypatch)
    text = outputs_text(nb)
    assert "SMALL=True" in text
    assert "ConfigError" in text  # the bad config was rejected before compiling
    assert images(nb) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("name", SYSTEMS)
def test_system_notebook_runs_and_plots(name, monkeypatch):
    nb = execute(name, monkeypatch)
    assert "SMALL=True" in outputs_text(nb)
    assert images(nb) >= 1
