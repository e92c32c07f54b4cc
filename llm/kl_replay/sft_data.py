"""SFT datasets from jsonl files of chat records, checked line by line before any training.

One JSON object per line, either ``{"messages": [{"role", "content"}, ...]}`` (the chat format
of ``llm.batches.sft_example``; roles system/user/assistant, at least one assistant turn) or
``{"prompt": str, "response": str}`` (``"completion"`` is accepted for ``"response"``), which
becomes a user turn and an assistant turn. Blank lines are skipped. A malformed record raises
``DataError`` naming the file and line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROLES = ("system", "user", "assistant")


class DataError(ValueError):
    """Bad input data; the message names the file (and line) at fault."""


def chat_record(record, where: str) -> list[dict[str, str]]:
    """The messages of one record (see the module docstring); ``where`` prefixes errors."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if "messages" in record:
        messages = record["messages"]
        if not isinstance(messages, list) or not messages:
            raise DataError(f"{where}: 'messages' must be a non-empty list of messages")
        out = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str) \
                    or not isinstance(m.get("content"), str):
                raise DataError(f"{where}: messages[{i}]={m!r} needs string 'role' and "
                                "'content'")
            if m["role"] not in ROLES:
                raise DataError(f"{where}: messages[{i}] has role {m['role']!r}; expected one "
                                f"of {ROLES}")
            out.append({"role": m["role"], "content": m["content"]})
        if not any(m["role"] == "assistant" for m in out):
            raise DataError(f"{where}: no assistant message, nothing to train on")
        return out
    response = record.get("response", record.get("completion"))
    if isinstance(record.get("prompt"), str) and isinstance(response, str):
        return [{"role": "user", "content": record["prompt"]},
                {"role": "assistant", "content": response}]
    raise DataError(f"{where}: expected 'messages' or string 'prompt' and 'response' fields, "
                    f"got keys {sorted(record)}")


def jsonl_records(path: Path):
    """``(where, record)`` for each non-blank line of a jsonl file, ``where`` = ``file:line``;
    a line that is not JSON raises DataError naming it."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") \
                    from None


def load_chat_jsonl(path: str | os.PathLike) -> list[list[dict[str, str]]]:
    """Every conversation in a jsonl file, in file order; raises DataError on a bad line or an
    empty file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    conversations = [chat_record(record, where) for where, record in jsonl_records(path)]
    if not conversations:
        raise DataError(f"{path}: no records (empty file)")
    return conversations


def save_chat_jsonl(conversations, path: str | os.PathLike) -> Path:
    """Write conversations as ``{"messages": [...]}`` lines (the inverse of load_chat_jsonl)."""
    path = Path(path)
    path.write_text("".join(json.dumps({"messages": list(c)}, ensure_ascii=False) + "\n"
                            for c in conversations), encoding="utf-8")
    return path
