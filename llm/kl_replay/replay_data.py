"""Replay corpora: documents from a local text, jsonl or parquet file, or from ``datasets``.

``load_texts(source)`` returns the documents as a list of non-empty strings:
- ``*.txt`` / ``*.text``: one document per non-empty line;
- ``*.jsonl``: one JSON object per line, the document in ``text_field`` (default "text");
- ``*.parquet``: the ``text_field`` column (pyarrow);
- ``datasets:<name or path>``: ``datasets.load_from_disk(path)`` when ``path`` is a folder
  written by ``Dataset.save_to_disk``, otherwise ``datasets.load_dataset(name, split=split)``
  (the hub path for users online), column ``text_field``.
pyarrow and datasets are imported only when needed, with an error saying what to install.
An empty corpus, a missing field or a non-string document raises ``DataError`` naming the
source (and line for jsonl).
"""

from __future__ import annotations

import os
from pathlib import Path

from llm.kl_replay.sft_data import DataError, jsonl_records

DATASETS_PREFIX = "datasets:"
TEXT_SUFFIXES = (".txt", ".text")


def _require(module: str, what: str):
    try:
        return __import__(module)
    except ImportError as err:
        raise ImportError(f"reading {what} needs the '{module}' package "
                          f"(pip install {module})") from err


def _strings(values, where: str, field: str) -> list[str]:
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise DataError(f"{where}: row {i} has {field}={v!r}, expected a string")
        if v.strip():
            out.append(v)
    return out


def load_texts(source: str | os.PathLike, *, text_field: str = "text",
               split: str = "train") -> list[str]:
    """The documents of ``source`` (see the module docstring)."""
    name = str(source)
    if name.startswith(DATASETS_PREFIX):
        docs = _from_datasets(name[len(DATASETS_PREFIX):], text_field, split)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        suffix = path.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            docs = [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()
                    if line.strip()]
        elif suffix == ".jsonl":
            docs = _from_jsonl(path, text_field)
        elif suffix == ".parquet":
            docs = _from_parquet(path, text_field)
        else:
            raise DataError(f"{path}: unknown corpus format {suffix!r}; expected .txt, .jsonl, "
                            f".parquet or '{DATASETS_PREFIX}<name or path>'")
    if not docs:
        raise DataError(f"{name}: the corpus is empty (no non-blank documents)")
    return docs


def _from_jsonl(path: Path, field: str) -> list[str]:
    docs = []
    for where, record in jsonl_records(path):
        if not isinstance(record, dict) or not isinstance(record.get(field), str):
            raise DataError(f"{where}: expected an object with a string {field!r} field")
        if record[field].strip():
            docs.append(record[field])
    return docs


def _from_parquet(path: Path, field: str) -> list[str]:
    _require("pyarrow", "parquet files")
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if field not in table.column_names:
        raise DataError(f"{path}: no column {field!r}; columns are {table.column_names}")
    return _strings(table.column(field).to_pylist(), str(path), field)


def _from_datasets(name: str, field: str, split: str) -> list[str]:
    datasets = _require("datasets", f"'{DATASETS_PREFIX}{name}'")
    if Path(name).is_dir():
        data = datasets.load_from_disk(name)
        if isinstance(data, datasets.DatasetDict):
            if split not in data:
                raise DataError(f"{name}: no split {split!r}; splits are {list(data)}")
            data = data[split]
    else:
        data = datasets.load_dataset(name, split=split)
    if field not in data.column_names:
        raise DataError(f"{name}: no column {field!r}; columns are {data.column_names}")
    return _strings(data[field], name, field)
