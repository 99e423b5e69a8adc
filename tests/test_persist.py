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
