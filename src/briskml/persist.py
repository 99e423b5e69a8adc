"""Files on disk: safetensors with a JSON document in the header, always written atomically.

A briskml bundle is an ordinary `.safetensors` file whose header metadata holds one JSON document
under the key "briskml", so `safetensors` and `json` alone can read everything we write, and loading
never runs code. Tensors that share memory (tied weights) are stored once and recorded as aliases.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from briskml.errors import FileFormatError

FORMAT_NAME = "briskml"
FORMAT_VERSION = 1
_META_KEY = "briskml"
_ALIAS_KEY = "briskml_aliases"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    An interrupted or failed write leaves any previous file at `path` untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, document: Any) -> Path:
    """Write `document` as JSON atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    return Path(path)


def write_bundle(path: str | os.PathLike, tensors: dict[str, Tensor], meta: dict[str, Any]) -> Path:
    """Write tensors plus a JSON-able `meta` dict as one safetensors file, atomically."""
    unique, aliases = _deduplicate(tensors)
    header = {
        _META_KEY: json.dumps({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **meta}),
        _ALIAS_KEY: json.dumps(aliases),
    }
    with atomic_path(path) as temporary:
        save_file(unique, str(temporary), metadata=header)
    return Path(path)


def read_bundle(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read a file written by `write_bundle`: (tensors on the CPU, meta dict)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: '{path}'.")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as error:
        raise FileFormatError(
            f"'{path}' is not a briskml file (it could not be read as safetensors: {error})."
        ) from error
    if _META_KEY not in header:
        raise FileFormatError(
            f"'{path}' is a safetensors file but was not written by briskml (no '{_META_KEY}' "
            "header); load it with safetensors directly."
        )
    meta = json.loads(header[_META_KEY])
    if meta.get("format") != FORMAT_NAME or meta.get("format_version", 0) > FORMAT_VERSION:
        raise FileFormatError(
            f"'{path}' has format {meta.get('format')!r} version {meta.get('format_version')!r}; "
            f"this briskml reads {FORMAT_NAME!r} up to version {FORMAT_VERSION}. Upgrade briskml."
        )
    for alias, original in json.loads(header.get(_ALIAS_KEY, "{}")).items():
        tensors[alias] = tensors[original]
    return tensors, meta


def _deduplicate(tensors: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Store each shared tensor once; give safetensors contiguous CPU tensors that share nothing."""
    unique: dict[str, Tensor] = {}
    aliases: dict[str, str] = {}
    first_name: dict[tuple, str] = {}
    storages: dict[int, int] = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach()
        if tensor.numel() > 0:
            pointer = tensor.untyped_storage().data_ptr()
            key = (pointer, tensor.storage_offset(), tuple(tensor.shape), tuple(tensor.stride()),
                   tensor.dtype, tensor.device)
            if key in first_name:
                aliases[name] = first_name[key]
                continue
            first_name[key] = name
            storages[pointer] = storages.get(pointer, 0) + 1
        unique[name] = tensor
    for name, tensor in unique.items():
        shares_storage = tensor.numel() > 0 and storages[tensor.untyped_storage().data_ptr()] > 1
        if shares_storage or tensor.numel() == 0 or tensor.device.type != "cpu":
            unique[name] = tensor.to("cpu", copy=True).contiguous()
        else:
            unique[name] = tensor.contiguous()
    return unique, aliases


def optimizer_to_bundle(optimizer: torch.optim.Optimizer
                        ) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split an optimizer's state_dict into tensors (prefixed "opt.") and a JSON-able dict."""
    state_dict = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    plain_state: dict[str, dict[str, Any]] = {}
    for index, param_state in state_dict["state"].items():
        for key, value in param_state.items():
            if isinstance(value, Tensor):
                tensors[f"opt.{index}.{key}"] = value
            else:
                plain_state.setdefault(str(index), {})[key] = value
    group_sizes = [len(group["params"]) for group in state_dict["param_groups"]]
    return tensors, {"plain_state": plain_state, "group_sizes": group_sizes}


def optimizer_from_bundle(optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor],
                          meta: dict[str, Any], source: str) -> None:
    """Load optimizer state saved by `optimizer_to_bundle`, keeping the current hyper-parameters."""
    current = optimizer.state_dict()
    sizes = [len(group["params"]) for group in current["param_groups"]]
    if sizes != meta["group_sizes"]:
        raise FileFormatError(
            f"The optimizer state in '{source}' was saved with parameter groups of sizes "
            f"{meta['group_sizes']}, but this learner has {sizes}. Load with with_opt=False."
        )
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = tensor
    for index, values in meta["plain_state"].items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": current["param_groups"]})
