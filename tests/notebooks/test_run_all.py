"""notebooks/run_all.py turns a notebook into a script: magics dropped, IPython.display optional,
figures saved on show. Checked on the committed notebooks (compile only) and on a tiny notebook
that is run."""

from __future__ import annotations

import importlib.util
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("run_all", ROOT / "notebooks" / "run_all.py")
run_all = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_all)


def test_every_notebook_becomes_valid_python(tmp_path):
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = run_all.script(path, str(tmp_path / path.stem))
        compile(code, path.name, "exec")
        assert "%matplotlib" not in code


def _notebook(path: pathlib.Path, cells: list[str]) -> None:
    path.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["# title"]},
        *({"cell_type": "code", "source": [c]} for c in cells)]}))


def test_tiny_notebook_runs_and_saves_its_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "NOTEBOOKS", tmp_path)
    _notebook(tmp_path / "a.ipynb", [
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nimport os",
        "from IPython.display import Image, display\nplt.plot([0, 1])\nplt.show()\n"
        "display(Image('x.png'))\nprint('small', os.environ.get('NOTEBOOK_SMALL'))"])
    _notebook(tmp_path / "b.ipynb", ["raise SystemExit(3)"])
    out = tmp_path / "out"
    assert run_all.main(["--small", "--jobs", "2", "--out", str(out)]) == 1  # b failed
    results = {r["notebook"]: r for r in json.loads((out / "results.json").read_text())}
    assert results["a.ipynb"]["status"] == "ok" and results["a.ipynb"]["figures"] == 1
    assert results["b.ipynb"]["status"] == "failed (exit 3)"
    assert "small 1" in (out / "a.log").read_text()
    assert run_all.main(["a", "--out", str(out)]) == 0
