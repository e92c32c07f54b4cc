"""The output folder of one experiment run.

``runs/<name>/<UTC timestamp>/`` (or ``--out``) holds ``config.json`` (the whole resolved
config), ``metrics.jsonl`` (learning curves: one line per run tag and update, values per seed),
``summary.json`` (flat headline figures), PNG plots and ``checkpoints/``. Every file is written
atomically, so a crash leaves each file either old or new, never half-written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing
from pathlib import Path
from typing import Any

import numpy as np

from experiments.harness.files import to_jsonable, write_atomic, write_json
from experiments.harness.timing import Timing


def config_to_dict(config) -> dict:
    return to_jsonable(dataclasses.asdict(config))


def config_from_dict(cls: type, data: dict):
    """Rebuild a (possibly nested) dataclass config from ``config_to_dict`` output."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value, hint = data[f.name], hints.get(f.name)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = config_from_dict(hint, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def _nan_for_null(v):
    if isinstance(v, list):
        return [_nan_for_null(x) for x in v]
    return np.nan if v is None else v


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._records: list[dict] = []
        if (self.path / "metrics.jsonl").exists():
            with open(self.path / "metrics.jsonl") as f:
                self._records = [json.loads(line) for line in f if line.strip()]

    @classmethod
    def new(cls, name: str, out: str | None = None) -> "RunDir":
        if out is None:
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            out = Path("runs") / name / stamp
        return cls(out)

    # config -------------------------------------------------------------------------------
    def write_config(self, config) -> None:
        write_json(self.path / "config.json", config_to_dict(config))

    def read_config(self, cls: type):
        file = self.path / "config.json"
        if not file.exists():
            raise SystemExit(f"error: cannot resume: {file} does not exist")
        with open(file) as f:
            return config_from_dict(cls, json.load(f))

    # metrics ------------------------------------------------------------------------------
    def records(self, run: str) -> list[dict]:
        return [r for r in self._records if r.get("run") == run]

    def log_metrics(self, run: str, first_update: int, metrics: dict[str, np.ndarray]) -> None:
        """Append per-update metrics ``[n_updates, n_seeds]`` of ``run`` starting at
        ``first_update``; drops any older records of ``run`` from ``first_update`` on."""
        self._records = [
            r for r in self._records if r.get("run") != run or r["update"] < first_update
        ]
        n = len(next(iter(metrics.values())))
        for i in range(n):
            rec = {"run": run, "update": first_update + i}
            rec.update({k: np.asarray(v[i]) for k, v in metrics.items()})
            self._records.append(to_jsonable(rec))
        lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self._records)
        write_atomic(self.path / "metrics.jsonl", lines)

    def metrics(self, run: str, upto: int | None = None) -> dict[str, np.ndarray]:
        """Metrics of ``run`` as arrays ``[n_updates, ...]`` (nulls back to NaN)."""
        recs = [r for r in self.records(run) if upto is None or r["update"] < upto]
        recs.sort(key=lambda r: r["update"])
        keys = [k for k in (recs[0] if recs else {}) if k not in ("run", "update")]
        return {k: np.asarray([_nan_for_null(r[k]) for r in recs], np.float64) for k in keys}

    # timing -------------------------------------------------------------------------------
    def timing(self, run: str):
        """The accumulated ``Timing`` of ``run`` (zeros when none was recorded)."""
        file = self.path / "timing.json"
        saved = json.loads(file.read_text()).get(run, {}) if file.exists() else {}
        return Timing(**saved)

    def write_timing(self, run: str, timing) -> None:
        file = self.path / "timing.json"
        saved = json.loads(file.read_text()) if file.exists() else {}
        saved[run] = dataclasses.asdict(timing)
        write_json(file, saved)

    # summary ------------------------------------------------------------------------------
    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.path / "summary.json", summary)

    def savefig(self, fig, name: str) -> Path:
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
        target = self.path / name
        write_atomic(target, buf.getvalue())
        return target


def format_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A plain aligned text table of ``rows`` (dicts with the same keys)."""
    if not rows:
        return ""
    columns = columns or list(rows[0])

    def fmt(v):
        if isinstance(v, float):
            return "nan" if v != v else f"{v:.4g}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join([line, sep, *body])
