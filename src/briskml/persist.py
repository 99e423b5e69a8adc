"""Files on disk: safetensors with a JSON document in the header, always written atomically.

A briskml bundle is an ordinary `.safetensors` file whose header metadata holds one JSON document
under the key "briskml", so `safetensors` and `json` alone can read everything we write, and loading
never runs code. Tensors that share memory (tied weights) are stored once and recorded as aliases.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from briskml.errors import FileFormatError
from briskml.schema import expect_dict, expect_key, expect_list, fail

try:  # POSIX: a writer holds a lock on its temporary file, so a stray one is known to be stray
    import fcntl
except ImportError:  # pragma: no cover - Windows: strays are recognised by their age instead
    fcntl = None

FORMAT_NAME = "briskml"
FORMAT_VERSION = 1
_META_KEY = "briskml"
_ALIAS_KEY = "briskml_aliases"
_DIGEST_KEY = "briskml_sha256"
CHECKSUM = "sha256"   # files written since briskml 0.3.0 say so in their JSON ("checksum")
MAX_HEADER_BYTES = 100_000_000   # the cap safetensors itself puts on a file's JSON header
_TEMPORARY_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")   # what atomic_path names
_ITEM_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
_STRAY_AGE_S = 3600.0   # without fcntl: a temporary file this old belongs to no live writer


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    An interrupted or failed write leaves any previous file at `path` untouched. Temporary files
    that an earlier, killed write left in the same folder are removed first.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stray_temporaries(target.parent)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        if fcntl is not None:   # held until the rename: a live writer's file is never a stray
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield Path(temporary)
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    finally:
        os.close(handle)


def remove_stray_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of `atomic_path` in `folder` that no running write owns (left
    by a write that was killed); return their paths."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False) and _TEMPORARY_NAME.match(entry.name) \
                    and _is_stray(entry.path):
                with contextlib.suppress(OSError):
                    os.remove(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _is_stray(path: str) -> bool:
    if fcntl is None:
        return time.time() - os.stat(path).st_mtime > _STRAY_AGE_S
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:   # locked: a write in progress owns it
        return False
    finally:
        os.close(descriptor)
    return True


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, document: Any) -> Path:
    """Write `document` as JSON atomically (NaN and infinity become null: they are not JSON)."""
    text = json.dumps(json_safe(document), indent=2, sort_keys=True, allow_nan=False)
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinite floats replaced by None, which JSON can hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def write_bundle(path: str | os.PathLike, tensors: dict[str, Tensor], meta: dict[str, Any]) -> Path:
    """Write tensors plus a JSON-able `meta` dict as one safetensors file, atomically, with a
    SHA-256 checksum of the JSON and every tensor that `read_bundle` verifies."""
    unique, aliases = _deduplicate(tensors)
    document = json.dumps(json_safe({"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                                     "checksum": CHECKSUM, **meta}), allow_nan=False)
    alias_text = json.dumps(aliases)
    header = {_META_KEY: document, _ALIAS_KEY: alias_text,
              _DIGEST_KEY: _digest(document, alias_text, unique)}
    with atomic_path(path) as temporary:
        save_file(unique, str(temporary), metadata=header)
    return Path(path)


class BundleHeader:
    """What a bundle's header says, read without loading any tensor: its JSON document `meta`,
    and the `shapes` and `dtypes` of its tensors (tied weights under each of their names)."""

    def __init__(self, path: Path, meta: dict[str, Any], shapes: dict[str, tuple[int, ...]],
                 dtypes: dict[str, str], raw: dict[str, str]) -> None:
        self.path, self.meta, self.shapes, self.dtypes, self._raw = path, meta, shapes, dtypes, raw

    def numel(self) -> int:
        """How many numbers the file's tensors hold (each tied tensor once)."""
        aliases = set(self._aliases())
        return sum(math.prod(shape) for name, shape in self.shapes.items() if name not in aliases)

    def _aliases(self) -> dict[str, str]:
        return json.loads(self._raw.get(_ALIAS_KEY, "{}"))


def read_header(path: str | os.PathLike) -> BundleHeader:
    """Read and check a bundle's header: size within safetensors' 100 MB cap, valid JSON, our
    document, tensor names, dtypes and shapes, aliases that name stored tensors. No tensor data
    is read, so a damaged or hostile file costs no more memory than its header."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: '{path}'.")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise _not_ours(path, "it is shorter than a safetensors header")
        (header_size,) = struct.unpack("<Q", prefix)
        if header_size > MAX_HEADER_BYTES:
            raise _not_ours(path, f"its header claims {header_size} bytes; safetensors allows "
                                  f"at most {MAX_HEADER_BYTES}")
        if 8 + header_size > size:
            raise _not_ours(path, f"its header claims {header_size} bytes but the file has "
                                  f"{size}: it is truncated")
        raw_header = handle.read(header_size)
    try:
        header = json.loads(raw_header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _not_ours(path, f"its header is not valid JSON ({type(error).__name__})") from None
    if not isinstance(header, dict):
        raise _not_ours(path, "its header is not a JSON object")
    raw = header.pop("__metadata__", None) or {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise _not_ours(path, "its metadata is not a map of strings")
    if _META_KEY not in raw:
        raise FileFormatError(
            f"'{path}' is a safetensors file but was not written by briskml (no '{_META_KEY}' "
            "header); load it with safetensors directly."
        )
    meta = _parse_document(path, raw[_META_KEY], _META_KEY)
    if not isinstance(meta, dict):
        raise _damaged(path, f"its '{_META_KEY}' document is not a JSON object")
    if meta.get("format") != FORMAT_NAME or not _is_version(meta.get("format_version")) \
            or meta["format_version"] > FORMAT_VERSION:
        raise FileFormatError(
            f"'{path}' has format {meta.get('format')!r} version {meta.get('format_version')!r}; "
            f"this briskml reads {FORMAT_NAME!r} up to version {FORMAT_VERSION}. Upgrade briskml "
            "if the file is newer, or export it again if it is damaged."
        )
    if "checksum" in meta and meta["checksum"] != CHECKSUM:
        raise _damaged(path, f"its field 'checksum' is {meta['checksum']!r}; briskml writes "
                             f"{CHECKSUM!r}")
    known = {_META_KEY, _ALIAS_KEY, _DIGEST_KEY}
    required = known if "checksum" in meta else {_META_KEY}
    if not required <= set(raw) <= known:
        raise _damaged(path, f"its header keys are {sorted(raw)}; briskml writes "
                             f"{sorted(required)}")
    shapes, dtypes = {}, {}
    data_size = size - 8 - header_size
    for name, info in header.items():
        if not (isinstance(info, dict) and info.get("dtype") in _ITEM_SIZES
                and isinstance(info.get("shape"), list)
                and all(_is_version(dim, minimum=0) for dim in info["shape"])
                and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2
                and all(_is_version(offset, minimum=0) for offset in info["data_offsets"])):
            raise _not_ours(path, f"its entry for tensor {name!r} is malformed")
        begin, end = info["data_offsets"]
        if not begin <= end <= data_size or \
                end - begin != math.prod(info["shape"]) * _ITEM_SIZES[info["dtype"]]:
            raise _not_ours(path, f"its tensor {name!r} does not fit the file's data (shape "
                                  f"{info['shape']}, bytes {begin}..{end} of {data_size})")
        shapes[name], dtypes[name] = tuple(info["shape"]), info["dtype"]
    aliases = _parse_document(path, raw.get(_ALIAS_KEY, "{}"), _ALIAS_KEY)
    if not isinstance(aliases, dict) or not all(
            isinstance(alias, str) and isinstance(original, str) and original in shapes
            and alias not in shapes for alias, original in aliases.items()):
        raise _damaged(path, f"its '{_ALIAS_KEY}' do not name tensors stored in the file once")
    for alias, original in aliases.items():
        shapes[alias], dtypes[alias] = shapes[original], dtypes[original]
    return BundleHeader(path, meta, shapes, dtypes, raw)


def read_bundle(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read a file written by `write_bundle`: (tensors on the CPU, meta dict).

    The header is checked first (`read_header`); then the checksum, when the file has one
    (files of briskml 0.1.0 and 0.2.0 do not), and that every floating-point tensor is finite.
    Anything wrong is a FileFormatError naming the file.
    """
    header = read_header(path)
    return read_tensors(header), header.meta


def read_tensors(header: BundleHeader) -> dict[str, Tensor]:
    """The tensors of a file whose header `read_header` returned, checked against its checksum
    and for non-finite values."""
    path = header.path
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise _not_ours(path, f"it could not be read as safetensors: {error}") from None
    raw = header._raw
    expected = raw.get(_DIGEST_KEY)   # read_header made sure a file with a checksum has it
    if expected is not None and expected != _digest(raw[_META_KEY], raw.get(_ALIAS_KEY, "{}"),
                                                    tensors):
        raise _damaged(path, "its checksum does not match its contents (a changed byte or "
                             "an edit)")
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise _damaged(path, f"its tensor '{name}' holds NaN or infinite values")
    for alias, original in header._aliases().items():
        tensors[alias] = tensors[original]
    return tensors


def _digest(document: str, aliases: str, tensors: dict[str, Tensor]) -> str:
    """SHA-256 of the JSON document, the aliases and every tensor's name, dtype, shape and
    bytes, in name order: independent of where safetensors put them in the file."""
    digest = hashlib.sha256()
    for text in (document, aliases):
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{list(tensor.shape)}\0".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def _parse_document(path: Path, text: str, key: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise _damaged(path, f"its '{key}' header is not valid JSON "
                             f"({type(error).__name__})") from None


def _is_version(value: Any, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _not_ours(path: Path, reason: str) -> FileFormatError:
    return FileFormatError(f"'{path}' is not a briskml file ({reason}).")


def _damaged(path: Path, reason: str) -> FileFormatError:
    return FileFormatError(f"'{path}' is damaged or was edited: {reason}. Save or export it "
                           "again.")


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
    """Load optimizer state saved by `optimizer_to_bundle`, keeping the current hyper-parameters.

    Raises a SchemaError naming the field when `meta` or a tensor's name is malformed."""
    meta = expect_dict(meta, "optimizer")
    group_sizes = expect_list(expect_key(meta, "group_sizes", "optimizer"),
                              "optimizer.group_sizes")
    plain_state = expect_dict(expect_key(meta, "plain_state", "optimizer"),
                              "optimizer.plain_state")
    current = optimizer.state_dict()
    sizes = [len(group["params"]) for group in current["param_groups"]]
    count = sum(sizes)
    parameters = [param for group in optimizer.param_groups for param in group["params"]]
    if sizes != group_sizes:
        raise FileFormatError(
            f"The optimizer state in '{source}' was saved with parameter groups of sizes "
            f"{meta['group_sizes']}, but this learner has {sizes}. Load with with_opt=False."
        )
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        parts = name.split(".", 2)
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) >= count:
            raise fail(f"(tensor {name})", f"does not name one of the {count} parameters")
        parameter = parameters[int(parts[1])]
        trailing = tuple(tensor.shape[max(tensor.dim() - parameter.dim(), 0):])
        if tensor.dim() > 0 and trailing != tuple(parameter.shape):   # moments may be stacked
            raise fail(f"(tensor {name})", f"has shape {tuple(tensor.shape)}; its parameter has "
                                           f"{tuple(parameter.shape)}")
        state.setdefault(int(parts[1]), {})[parts[2]] = tensor
    for index, values in plain_state.items():
        if not index.isdigit() or int(index) >= count:
            raise fail(f"optimizer.plain_state.{index}", f"does not name one of the {count} "
                                                         "parameters")
        state.setdefault(int(index), {}).update(expect_dict(values,
                                                            f"optimizer.plain_state.{index}"))
    optimizer.load_state_dict({"state": state, "param_groups": current["param_groups"]})
