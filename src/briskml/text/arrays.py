"""NumPy arrays in safetensors files: streamed writes and memory-mapped reads.

The files are ordinary safetensors files with briskml's JSON document under the header key
"briskml" (the same layout as `briskml.persist.write_bundle`), so `safetensors` can read them
too. We write and map them ourselves because token ids can outgrow memory: an array may be
streamed in from a spool file while it is written, and reading maps the file instead of copying.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from briskml.errors import FileFormatError
from briskml.persist import FORMAT_NAME, FORMAT_VERSION, atomic_path

_META_KEY = "briskml"
_DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
    "U32": np.uint32, "I32": np.int32, "I64": np.int64, "F32": np.float32, "F64": np.float64,
}
_NAMES = {np.dtype(dtype): name for name, dtype in _DTYPES.items()}


class Spool:
    """An append-only array on disk, for results too big to hold in memory before writing.

    Example:
        >>> with Spool(np.int32, directory) as spool:
        ...     spool.append(chunk)
    """

    def __init__(self, dtype: Any, directory: str | os.PathLike | None = None) -> None:
        self.dtype = np.dtype(dtype)
        handle, name = tempfile.mkstemp(prefix=".spool.", suffix=".bin", dir=directory)
        self.path = Path(name)
        self.handle: BinaryIO = os.fdopen(handle, "w+b")
        self.length = 0
        self._hasher = hashlib.blake2b(digest_size=16)

    def append(self, values: np.ndarray) -> None:
        """Add values at the end (converted to the spool's dtype)."""
        data = np.ascontiguousarray(values, dtype=self.dtype).tobytes()
        self.handle.write(data)
        self._hasher.update(data)
        self.length += len(values)

    def digest(self) -> str:
        """blake2b (16 bytes, hex) of everything appended: the same as of the array it holds."""
        return self._hasher.hexdigest()

    def copy_to(self, destination: BinaryIO) -> None:
        """Write the whole content to an open file."""
        self.handle.flush()
        self.handle.seek(0)
        shutil.copyfileobj(self.handle, destination, length=1 << 22)

    def close(self) -> None:
        """Delete the spool file."""
        self.handle.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray | Spool],
                 meta: dict[str, Any]) -> Path:
    """Write arrays (or spools) and a JSON-able `meta` dict as one safetensors file, atomically."""
    header, total = _header(arrays, meta)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        handle.write(struct.pack("<Q", len(header)))
        handle.write(header)
        for value in arrays.values():
            if isinstance(value, Spool):
                value.copy_to(handle)
            else:
                handle.write(np.ascontiguousarray(value).tobytes())
        if handle.tell() != 8 + len(header) + total:
            raise AssertionError("array sizes changed while writing")
    return Path(path)


def _header(arrays: Mapping[str, np.ndarray | Spool], meta: dict[str, Any]) -> tuple[bytes, int]:
    entries: dict[str, Any] = {}
    offset = 0
    for name, value in arrays.items():
        dtype, length = _dtype_and_shape(name, value)
        size = int(np.prod(length)) * dtype.itemsize
        entries[name] = {"dtype": _NAMES[dtype], "shape": list(length),
                         "data_offsets": [offset, offset + size]}
        offset += size
    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **meta}
    entries["__metadata__"] = {_META_KEY: json.dumps(document)}
    header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    # safetensors pads the header with spaces so the data starts 8-byte aligned.
    header += b" " * (-len(header) % 8)
    return header, offset


def _dtype_and_shape(name: str, value: np.ndarray | Spool) -> tuple[np.dtype, tuple[int, ...]]:
    if isinstance(value, Spool):
        return value.dtype, (value.length,)
    if value.dtype not in _NAMES:
        raise TypeError(f"Array {name!r} has dtype {value.dtype}, which safetensors cannot store.")
    return value.dtype, tuple(value.shape)


def read_arrays(path: str | os.PathLike, mmap: bool = True
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by `write_arrays`: (arrays, meta). Arrays are memory-mapped if `mmap`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: '{path}'.")
    entries, data_start = _read_header(path)
    document = _meta_document(path, entries.pop("__metadata__", {}))
    arrays = {name: _load_array(path, name, entry, data_start, mmap)
              for name, entry in entries.items()}
    return arrays, document


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        size = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else -1
        if not 0 < size <= min(path.stat().st_size - 8, 1 << 30):
            raise FileFormatError(f"'{path}' is not a safetensors file (bad header length).")
        try:
            entries = json.loads(handle.read(size))
        except (ValueError, RecursionError) as error:
            raise FileFormatError(f"'{path}' has a damaged safetensors header: {error}.") from None
    if not isinstance(entries, dict):
        raise FileFormatError(f"'{path}' has a damaged safetensors header (not a JSON object).")
    return entries, 8 + size


def _meta_document(path: Path, metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict) or not isinstance(metadata.get(_META_KEY), str):
        raise FileFormatError(f"'{path}' is a safetensors file but was not written by briskml.")
    try:
        document = json.loads(metadata[_META_KEY])
    except (ValueError, RecursionError) as error:
        raise FileFormatError(f"'{path}' has a damaged briskml document: {error}.") from None
    if not isinstance(document, dict):
        raise FileFormatError(f"'{path}' has a damaged briskml document (not a JSON object).")
    version = document.get("format_version", 0)
    if document.get("format") != FORMAT_NAME or not isinstance(version, int) or \
            version > FORMAT_VERSION:
        raise FileFormatError(
            f"'{path}' has format {document.get('format')!r} version "
            f"{document.get('format_version')!r}; this briskml reads {FORMAT_NAME!r} up to version "
            f"{FORMAT_VERSION}. Upgrade briskml."
        )
    return document


def _load_array(path: Path, name: str, entry: Any, data_start: int,
                mmap: bool) -> np.ndarray:
    if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES:
        dtype_name = entry.get("dtype") if isinstance(entry, dict) else None
        raise FileFormatError(f"'{path}': array {name!r} has an unsupported dtype "
                              f"{dtype_name!r}.")
    dtype = np.dtype(_DTYPES[entry["dtype"]])
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not _whole_numbers(shape) or not _whole_numbers(offsets) or len(offsets) != 2:
        raise FileFormatError(f"'{path}': array {name!r} has a damaged shape or offsets.")
    shape = tuple(shape)
    begin, end = offsets
    size_ok = end - begin == math.prod(shape) * dtype.itemsize
    if not size_ok or data_start + end > path.stat().st_size:
        raise FileFormatError(f"'{path}': array {name!r} is truncated or has a bad size.")
    if end == begin:
        return np.empty(shape, dtype=dtype)
    if mmap:
        return np.memmap(path, dtype=dtype, mode="r", offset=data_start + begin, shape=shape)
    with open(path, "rb") as handle:
        handle.seek(data_start + begin)
        return np.frombuffer(handle.read(end - begin), dtype=dtype).reshape(shape).copy()


def _whole_numbers(values: Any) -> bool:
    return isinstance(values, list) and all(type(value) is int and value >= 0 for value in values)
