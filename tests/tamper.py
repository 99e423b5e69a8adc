"""A tampering helper for tests: edit a briskml file's JSON field by field, flip bits, write NaN
into a weight, and rewrite the file either as found (a damaged file: its checksum no longer
matches) or re-signed (a hostile edit whose author recomputed the checksum, or a file from a
briskml that wrote none), under an address-space limit so an absurd size cannot take the machine.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import resource
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from briskml import persist

Path_ = tuple[Any, ...]   # keys and indices from the document's root to one field

# What each edit puts in place of a field's value.
NOT_JSON_TYPE = {"tampered": [1]}   # an object where no field takes one: a type error everywhere


def read_raw(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, str]]:
    """The stored tensors, the parsed "briskml" document and the raw header metadata."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    return tensors, json.loads(metadata["briskml"]), metadata


def write_raw(path: Path, tensors: dict[str, torch.Tensor], document: dict[str, Any],
              metadata: dict[str, str], resign: bool) -> Path:
    """Write `tensors` and `document`, with the old checksum (`resign=False`) or a new one."""
    metadata = dict(metadata)
    metadata["briskml"] = json.dumps(document)
    if resign:
        metadata["briskml_sha256"] = persist._digest(
            metadata["briskml"], metadata.get("briskml_aliases", "{}"), tensors)
    save_file(tensors, str(path), metadata=metadata)
    return path


def leaf_paths(document: Any, path: Path_ = (), long_list: int = 6) -> Iterator[Path_]:
    """Every field's path (dict keys, list indices); of a list longer than `long_list`, only the
    first, a middle and the last entries (a vocabulary has thousands of the same kind)."""
    if path:
        yield path
    if isinstance(document, dict):
        for key in document:
            yield from leaf_paths(document[key], (*path, key), long_list)
    elif isinstance(document, list):
        indices = range(len(document))
        if len(document) > long_list:
            indices = sorted({0, len(document) // 2, len(document) - 1})
        for index in indices:
            yield from leaf_paths(document[index], (*path, index), long_list)


def dotted(path: Path_) -> str:
    """`pipeline.procs[2].state` for ("pipeline", "procs", 2, "state")."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def edits(value: Any) -> dict[str, Any]:
    """The edits of one field: name -> new value (`DELETE` removes the field)."""
    out: dict[str, Any] = {"type": NOT_JSON_TYPE, "delete": DELETE}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out.update({"nan": math.nan, "inf": math.inf, "huge": 10**12 if isinstance(value, int)
                    else 1e300, "negative": -1 if isinstance(value, int) else -1.0})
    if isinstance(value, str):
        out["number"] = 7
    if isinstance(value, list) and value:
        out.update({"longer": [*value, copy.deepcopy(value[-1])], "shorter": value[:-1]})
    return out


DELETE = object()


def edited(document: dict[str, Any], path: Path_, new: Any) -> dict[str, Any]:
    """A deep copy of `document` with the field at `path` set to `new` (or removed)."""
    result = copy.deepcopy(document)
    parent = result
    for part in path[:-1]:
        parent = parent[part]
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(new)
    return result


def flip_bit(data: bytes, bit: int) -> bytes:
    """`data` with bit number `bit` (0 = lowest bit of the first byte) flipped."""
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def header_length(data: bytes) -> int:
    """The length of a safetensors file's JSON header, after its 8-byte size."""
    return struct.unpack("<Q", data[:8])[0]


@contextlib.contextmanager
def address_space_limit(extra_bytes: int) -> Iterator[None]:
    """Cap this process's address space at what it uses now plus `extra_bytes`, so a load that
    tries to allocate gigabytes fails instead of taking the machine."""
    used = _address_space_now()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + extra_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space_now() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")
