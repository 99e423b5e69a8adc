import json
import os
import re
import stat
from pathlib import Path

import pytest
import safetensors.torch
import torch
from safetensors import safe_open
from torch import nn

import briskml as bm
from briskml import persist
from briskml.errors import FileFormatError
from briskml.persist import read_bundle, write_bundle, write_json


def test_a_file_that_is_not_ours_gets_a_clear_error(tmp_path):
    junk = tmp_path / "notes.brisk"
    junk.write_bytes(b"these are not weights")
    with pytest.raises(FileFormatError, match="not a briskml file"):
        bm.load_learner(junk)
    foreign = tmp_path / "foreign.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(FileFormatError, match="not written by briskml"):
        bm.load_learner(foreign)
    with pytest.raises(FileNotFoundError, match="No such file"):
        bm.load_learner(tmp_path / "missing.brisk")


def test_an_interrupted_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "weights.safetensors"
    write_bundle(target, {"w": torch.ones(3)}, {"content": "checkpoint"})
    original = target.read_bytes()

    def crash_halfway(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(persist, "save_file", crash_halfway)
    with pytest.raises(KeyboardInterrupt):
        write_bundle(target, {"w": torch.zeros(3)}, {"content": "checkpoint"})
    assert target.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["weights.safetensors"]


def test_tied_weights_are_stored_once_and_come_back_tied(tmp_path):
    embedding = nn.Embedding(10, 4)
    decoder = nn.Linear(4, 10)
    decoder.weight = embedding.weight
    tensors = {"enc.weight": embedding.weight, "dec.weight": decoder.weight, "bias": decoder.bias}
    path = write_bundle(tmp_path / "tied.safetensors", tensors, {"content": "checkpoint"})
    with safe_open(str(path), framework="pt") as handle:
        assert sorted(handle.keys()) == ["bias", "enc.weight"]
    loaded, _ = read_bundle(path)
    assert torch.equal(loaded["dec.weight"], embedding.weight.detach())


def test_write_json_is_atomic_and_readable(tmp_path):
    path = write_json(tmp_path / "vocab.json", {"tokens": ["xxunk", "xxpad"]})
    assert json.loads(path.read_text()) == {"tokens": ["xxunk", "xxpad"]}


def test_written_files_get_the_usual_permissions(tmp_path):
    path = write_json(tmp_path / "settings.json", {"a": 1})
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


# What may read a pickle-based format at all: only the importer of fastai's published files
# (read-only: torch.load(weights_only=True) and a hand-written reader that builds nothing but
# strings). No module imports a pickle library.
PICKLE_READERS = {"text/fastai_import.py"}
PICKLE_IMPORT = re.compile(r"^\s*(import|from)\s+(pickle|pickletools|_pickle|cPickle|copyreg|"
                           r"marshal|shelve|dill|joblib|cloudpickle)\b", re.MULTILINE)
PICKLE_PATTERN = re.compile(PICKLE_IMPORT.pattern + r"|torch\.(save|load)\(|allow_pickle",
                            re.MULTILINE)


def test_nothing_in_the_package_persists_with_pickle():
    package = Path(bm.__file__).parent
    users = {str(path.relative_to(package)) for path in package.rglob("*.py")
             if PICKLE_PATTERN.search(path.read_text(encoding="utf-8"))}
    assert users <= PICKLE_READERS, f"pickle-based I/O outside the fastai importer: {users}"
    importer = (package / "text" / "fastai_import.py").read_text(encoding="utf-8")
    assert "torch.save(" not in importer and "weights_only=True" in importer
    assert not re.search(r"pickle\.(loads?|dumps?|Unpickler)\b", importer)
    importers = {str(path.relative_to(package)) for path in package.rglob("*.py")
                 if PICKLE_IMPORT.search(path.read_text(encoding="utf-8"))}
    assert not importers, f"modules importing a pickle library: {importers}"


def test_a_write_removes_the_temporary_files_a_killed_write_left(tmp_path):
    stray = tmp_path / ".weights.safetensors.ab12cd34.tmp"
    stray.write_bytes(b"")                        # what a kill -9 mid-write leaves
    other = tmp_path / ".notes.txt.tmp"           # not of our naming: kept
    other.write_text("mine")
    write_bundle(tmp_path / "weights.safetensors", {"w": torch.ones(2)}, {"content": "x"})
    assert not stray.exists()
    assert other.exists()


def test_a_write_in_progress_keeps_its_temporary_file(tmp_path):
    """Another writer's temporary file is locked while it writes: a second write leaves it."""
    with persist.atomic_path(tmp_path / "a.json") as first:
        first.write_text("{}")
        write_json(tmp_path / "b.json", {"x": 1})
        assert first.exists()
    assert (tmp_path / "a.json").read_text() == "{}"


def test_json_documents_hold_no_nan(tmp_path):
    path = write_json(tmp_path / "doc.json", {"loss": float("nan"), "values": [1.0, float("inf")]})
    assert json.loads(path.read_text()) == {"loss": None, "values": [1.0, None]}


def _bundle(tmp_path):
    return write_bundle(tmp_path / "w.safetensors", {"w": torch.arange(6.0).reshape(2, 3)},
                        {"content": "checkpoint"})


def test_the_checksum_covers_every_tensor_byte(tmp_path):
    path = _bundle(tmp_path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01                              # the last byte of the weights
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="checksum does not match"):
        read_bundle(path)


@pytest.mark.parametrize("damage", ["short", "truncated", "huge header", "not json", "array"])
def test_a_broken_header_is_refused_before_reading_data(tmp_path, damage):
    path = _bundle(tmp_path)
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    broken = {
        "short": data[:5],
        "truncated": data[:8 + size // 2],
        "huge header": (10**9).to_bytes(8, "little") + data[8:],
        "not json": data[:8] + b"{" * size + data[8 + size:],
        "array": (2).to_bytes(8, "little") + b"[]",
    }[damage]
    path.write_bytes(broken)
    with pytest.raises(FileFormatError, match="not a briskml file"):
        read_bundle(path)


def test_deeply_nested_json_is_refused_not_a_recursion_error(tmp_path):
    path = _bundle(tmp_path)
    tensors, _ = read_bundle(path)
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
    metadata["briskml"] = "[" * 100_000 + "]" * 100_000
    safetensors.torch.save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(FileFormatError, match="not valid JSON"):
        read_bundle(path)


def test_non_finite_weights_are_refused(tmp_path):
    path = write_bundle(tmp_path / "nan.safetensors", {"w": torch.tensor([1.0, float("inf")])},
                        {"content": "checkpoint"})
    with pytest.raises(FileFormatError, match="'w' holds NaN or infinite"):
        read_bundle(path)


def test_files_without_a_checksum_still_load(tmp_path):
    """briskml 0.1.0 and 0.2.0 wrote no checksum; their files are read with the other checks."""
    path = _bundle(tmp_path)
    tensors, _meta = read_bundle(path)
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
    document = json.loads(metadata["briskml"])
    del document["checksum"]
    metadata["briskml"] = json.dumps(document)
    del metadata["briskml_sha256"]
    safetensors.torch.save_file(tensors, str(path), metadata=metadata)
    assert torch.equal(read_bundle(path)[0]["w"], tensors["w"])
    del metadata["briskml"]
    metadata["briskml"] = json.dumps({**document, "checksum": "sha256"})   # says it has one
    safetensors.torch.save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(FileFormatError, match="header keys are"):
        read_bundle(path)
