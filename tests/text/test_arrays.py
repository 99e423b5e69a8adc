"""Arrays in safetensors files: streamed writes, memory-mapped reads, damaged files."""

import numpy as np
import pytest
from safetensors.numpy import load_file

from briskml.errors import FileFormatError
from briskml.text.arrays import Spool, read_arrays, write_arrays


def test_arrays_round_trip_memory_mapped(tmp_path):
    arrays = {"ids": np.arange(10, dtype=np.uint16), "offsets": np.array([0, 4, 10]),
              "empty": np.zeros(0, dtype=np.int32)}
    write_arrays(tmp_path / "a.safetensors", arrays, {"tokens": ["a", "b"]})
    loaded, meta = read_arrays(tmp_path / "a.safetensors")
    assert isinstance(loaded["ids"], np.memmap) and meta["tokens"] == ["a", "b"]
    for name, array in arrays.items():
        assert np.array_equal(loaded[name], array) and loaded[name].dtype == array.dtype


def test_a_spool_streams_an_array_into_the_file(tmp_path):
    with Spool(np.int32, tmp_path) as spool:
        for start in range(0, 100, 30):
            spool.append(np.arange(start, min(start + 30, 100)))
        write_arrays(tmp_path / "s.safetensors", {"ids": spool}, {})
    assert np.array_equal(load_file(str(tmp_path / "s.safetensors"))["ids"], np.arange(100))
    assert list(tmp_path.glob(".spool.*")) == []


@pytest.mark.parametrize("content, message", [
    (b"short", "not a safetensors file"),
    (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}", "damaged safetensors header"),
])
def test_damaged_files_are_reported(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=message):
        read_arrays(path)


def test_a_truncated_file_is_reported(tmp_path):
    path = write_arrays(tmp_path / "t.safetensors", {"ids": np.arange(1000)}, {})
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(FileFormatError, match="truncated"):
        read_arrays(path)
