"""Run notebooks top to bottom as plain Python, without Jupyter (e.g. on a GPU or TPU VM).

    python notebooks/run_all.py [NAME ...] [--small] [--jobs J] [--timeout S] [--out DIR]

Each notebook's code cells run in order in a fresh interpreter started in the repository root
(IPython ``%``/``!`` lines are dropped, ``IPython.display`` is a no-op where IPython is missing,
``plt.show()`` saves the figure to ``DIR/<notebook>-<n>.png``). ``--small`` sets
``NOTEBOOK_SMALL=1``, the notebooks' CPU-sized settings, on whatever devices JAX finds.
``--jobs`` runs that many notebooks at once. Prints one line per notebook (status, seconds,
figures) and writes ``DIR/<notebook>.log`` and ``DIR/results.json``; the exit status is non-zero
when any notebook failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project's own helpers

from experiments.harness.files import write_json  # noqa: E402

PRELUDE = """\
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as _plt
_figures = [0]
def _show(*args, **kwargs):
    for num in _plt.get_fignums():
        _figures[0] += 1
        _plt.figure(num).savefig(OUT_PREFIX + f"-{_figures[0]}.png", dpi=80)
    _plt.close("all")
_plt.show = _show
"""


def script(path: pathlib.Path, out_prefix: str) -> str:
    """The notebook's code cells as one script (magics dropped, figures saved on show)."""
    cells = json.loads(path.read_text())["cells"]
    parts = [PRELUDE.replace("OUT_PREFIX", repr(out_prefix))]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        lines = []
        for ln in src.splitlines():
            if ln.lstrip().startswith(("%", "!")):
                continue
            if ln.startswith("from IPython.display import"):  # a no-op where IPython is missing
                ln = (f"try:\n    {ln}\nexcept ImportError:\n"
                      "    Image = display = lambda *args, **kwargs: None")
            lines.append(ln)
        parts.append(f"# --- cell {i}\n" + "\n".join(lines))
    parts.append("_show()")  # figures a cell left open without calling show
    return "\n\n".join(parts) + "\n"


def run_one(path: pathlib.Path, out: pathlib.Path, small: bool, timeout: float) -> dict:
    stem = path.stem
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    if small:
        env["NOTEBOOK_SMALL"] = "1"
    code = script(path, str(out / stem))
    t0 = time.perf_counter()
    with open(out / f"{stem}.log", "w") as log:
        try:
            rc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, timeout=timeout).returncode
            status = "ok" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            status = f"timed out after {timeout:.0f} s"
    figures = len(list(out.glob(f"{stem}-*.png")))
    return {"notebook": path.name, "status": status, "seconds": round(time.perf_counter() - t0, 1),
            "figures": figures}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook files or stems (default: all)")
    parser.add_argument("--small", action="store_true", help="NOTEBOOK_SMALL=1 settings")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per notebook")
    parser.add_argument("--out", default="notebook_runs")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.names:
        wanted = {pathlib.Path(n).stem for n in args.names}
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            parser.error(f"unknown notebooks {sorted(unknown)}; expected names from "
                         f"{[p.stem for p in paths]}")
        paths = [p for p in paths if p.stem in wanted]
    if args.jobs < 1:
        parser.error("--jobs: expected an integer >= 1")
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, p, out, args.small, args.timeout) for p in paths]
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            results.append(r)
            print(f"{r['notebook']:32s} {r['status']:24s} {r['seconds']:8.1f} s "
                  f"{r['figures']} figure(s)", flush=True)
    write_json(out / "results.json", sorted(results, key=lambda r: r["notebook"]))
    return int(any(r["status"] != "ok" for r in results))


if __name__ == "__main__":
    sys.exit(main())
