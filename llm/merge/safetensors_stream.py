"""Write a safetensors file one tensor at a time, so a file never has to be held in memory.

The safetensors format (https://github.com/huggingface/safetensors, "Format") is an 8-byte
little-endian header length N, an N-byte JSON header mapping each name to its dtype, shape and
``data_offsets`` [begin, end) into the byte buffer that follows, then that buffer. Every shape and
dtype of a merge is known from the parents' headers before any weight is read, so the header is
written first and the tensors are appended in header order; ``safetensors.safe_open`` reads the
result back. The header is space-padded to a multiple of 8 bytes, as ``safetensors`` writes it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

DTYPE_NAMES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
               "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
               "bool": "BOOL"}


def safetensors_dtype(dtype) -> str:
    """The safetensors dtype string ("F32", "BF16", ...) of a numpy/ml_dtypes dtype."""
    name = np.dtype(dtype).name
    if name not in DTYPE_NAMES:
        raise ValueError(f"dtype {name!r} cannot be stored in safetensors here; "
                         f"expected one of {sorted(DTYPE_NAMES)}")
    return DTYPE_NAMES[name]


class StreamingWriter:
    """``with StreamingWriter(path, plan) as w: w.write(name, array)`` for each planned tensor.

    ``plan``: ordered ``[(name, dtype, shape)]``; ``write`` must follow that order with arrays of
    exactly that dtype and shape (checked), and closing checks that every tensor was written.
    """

    def __init__(self, path: str | Path, plan, metadata: dict[str, str] | None = None):
        header, offset = {}, 0
        self._plan = []
        for name, dtype, shape in plan:
            dtype, shape = np.dtype(dtype), tuple(int(s) for s in shape)
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            header[name] = {"dtype": safetensors_dtype(dtype), "shape": list(shape),
                            "data_offsets": [offset, offset + nbytes]}
            self._plan.append((name, dtype, shape))
            offset += nbytes
        if metadata:
            header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        self.nbytes = offset
        self._file = open(path, "wb")  # noqa: SIM115 (closed in close())
        self._file.write(struct.pack("<Q", len(raw)) + raw)
        self._next = 0

    def write(self, name: str, array: np.ndarray) -> None:
        if self._next >= len(self._plan):
            raise ValueError(f"tensor {name!r} was not planned for {self._file.name}")
        want, dtype, shape = self._plan[self._next]
        if name != want or array.dtype != dtype or tuple(array.shape) != shape:
            raise ValueError(f"{self._file.name}: expected tensor {want!r} {dtype} {shape} next, "
                             f"got {name!r} {array.dtype} {tuple(array.shape)}")
        self._file.write(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
        self._next += 1

    def close(self) -> None:
        missing = [n for n, _, _ in self._plan[self._next:]]
        self._file.close()
        if missing:
            raise ValueError(f"{self._file.name}: {len(missing)} planned tensors were not written "
                             f"(first {missing[0]!r})")

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.close()
        else:
            self._file.close()
