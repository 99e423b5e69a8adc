"""The dataset registry: its entries, where datasets go, and fetching from a server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zipfile

import pytest

from briskml.datasets import bundled_path, dataset_path, fetch_dataset, is_fetched, registry
from briskml.datasets.registry import COMPLETE_MARKER, DATASETS, Dataset, RemoteFile
from briskml.download import DownloadError, cache_dir
from briskml.errors import ConfigError, DataError, FileFormatError
from tests.cli.local_server import OFFLINE_URL, serve_folder

RATINGS_CSV = b"userId,movieId,rating\n1,10,4.0\n2,10,3.5\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BRISKML_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BRISKML_MIRROR", raising=False)


@pytest.fixture
def served(tmp_path):
    """A folder served over HTTP on 127.0.0.1: (folder, base URL, requests)."""
    folder = tmp_path / "served"
    folder.mkdir()
    with serve_folder(folder) as (base, requests):
        yield folder, base, requests


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tgz_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def register(monkeypatch, name: str, *remote: RemoteFile, **fields) -> Dataset:
    dataset = Dataset(name, "a test dataset", "for tests", "none", "http://example.org",
                      remote=remote, **fields)
    monkeypatch.setitem(DATASETS, name, dataset)
    return dataset


# ----- the entries ----------------------------------------------------------------------------
def test_the_lessons_datasets_are_all_there():
    assert {"adult", "adult-sample", "ml-100k", "ml-latest-small", "imdb", "imdb-sample",
            "wikitext-2", "wikitext-103", "bundled-adult", "bundled-movielens"} <= set(DATASETS)


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=lambda dataset: dataset.name)
def test_each_entry_is_well_formed(dataset):
    assert dataset.bundled != bool(dataset.remote)
    for remote in dataset.remote:
        assert remote.url.startswith("https://") and remote.filename
        assert remote.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
        assert remote.md5 is None or re.fullmatch(r"[0-9a-f]{32}", remote.md5)
    if dataset.checked_by in ("format", "unchecked") or "unchecked" in dataset.checked_by:
        assert dataset.note, "say why a dataset cannot be checked by a checksum"
    if dataset.bundled:
        assert all((bundled_path(name)).is_file() for name in dataset.files.values())
    if dataset.main_file:
        assert dataset.main_file in dataset.files.values()


def test_paths_point_into_the_cache_or_the_package(tmp_path):
    assert dataset_path("bundled-adult") == bundled_path("adult_sample.csv.gz")
    assert dataset_path("bundled-movielens", "movies") == bundled_path(
        "movielens_sample_movies.csv.gz")
    folder = tmp_path / "cache" / "datasets" / "ml-latest-small"
    assert dataset_path("ml-latest-small") == folder
    assert dataset_path("ml-latest-small", "ratings") == folder / "ratings.csv"
    assert dataset_path("imdb", "train/pos") == tmp_path / "cache" / "datasets" / "imdb" / \
        "train" / "pos"
    assert not is_fetched("ml-latest-small") and is_fetched("bundled-adult")


@pytest.mark.parametrize(("name", "file", "message"), [
    ("ml-latest", None, r"No dataset called 'ml-latest'; did you mean \['ml-latest-small'"),
    ("imdb", "../secrets", "a name inside the dataset's folder"),
    ("bundled-adult", "other.csv", "has no file 'other.csv'"),
])
def test_bad_names_are_errors_that_help(name, file, message):
    with pytest.raises(ConfigError, match=message):
        dataset_path(name, file)


# ----- fetching -------------------------------------------------------------------------------
def test_a_zip_is_checked_unpacked_and_reused(served, monkeypatch):
    folder, base, requests = served
    payload = zip_bytes({"toy/ratings.csv": RATINGS_CSV, "toy/README.txt": b"licence"})
    (folder / "toy.zip").write_bytes(payload)
    register(monkeypatch, "toy", RemoteFile(f"{base}/toy.zip", len(payload),
                                            sha256=hashlib.sha256(payload).hexdigest(),
                                            extract=True),
             files={"ratings": "ratings.csv"})
    location = fetch_dataset("toy", progress=False)
    assert location == cache_dir("datasets") / "toy"
    assert (location / "ratings.csv").read_bytes() == RATINGS_CSV  # the top folder is lifted
    assert (location / COMPLETE_MARKER).is_file() and is_fetched("toy")
    assert fetch_dataset("toy", progress=False) == location
    assert requests == ["/toy.zip"]
    assert dataset_path("toy", "README.txt") == location / "README.txt"
    with pytest.raises(ConfigError, match=r"toy has no file 'ratngs'; its files are \['ratings'\]"):
        dataset_path("toy", "ratngs")


def test_a_tar_gz_and_plain_files_with_md5(served, monkeypatch):
    folder, base, _ = served
    archive = tgz_bytes({"texts.csv": b"label,text\npos,good\n"})
    (folder / "sample.tgz").write_bytes(archive)
    (folder / "notes.txt").write_bytes(b"notes")
    register(monkeypatch, "two-files",
             RemoteFile(f"{base}/sample.tgz", extract=True),
             RemoteFile(f"{base}/notes.txt", md5=hashlib.md5(b"notes").hexdigest()),
             files={"texts": "texts.csv"}, main_file="texts.csv", note="no checksum")
    location = fetch_dataset("two-files", progress=False)
    assert location.read_bytes() == b"label,text\npos,good\n"
    assert (location.parent / "notes.txt").read_bytes() == b"notes"


@pytest.mark.parametrize(("remote", "message"), [
    ({"md5": "0" * 32}, "has md5 .*, not the published 0{32}, so it was deleted"),
    ({"size": 3}, f"has {len(RATINGS_CSV)} bytes, not the published 3, so it was deleted"),
    ({"sha256": "0" * 64}, "not the expected 0{64}"),
])
def test_a_file_that_fails_its_check_is_refused_and_not_kept(served, monkeypatch, remote,
                                                              message):
    folder, base, _ = served
    (folder / "ratings.csv").write_bytes(RATINGS_CSV)
    register(monkeypatch, "bad", RemoteFile(f"{base}/ratings.csv", **remote))
    with pytest.raises(DownloadError, match=message):
        fetch_dataset("bad", progress=False)
    assert not (cache_dir("downloads") / "ratings.csv").exists()
    assert not (cache_dir("datasets") / "bad").exists()


@pytest.mark.parametrize(("archive", "error", "message"), [
    (b"this is not an archive", FileFormatError, "is not a readable archive"),
    (zip_bytes({"other.csv": b"x"}), FileFormatError, r"unpacked without \['ratings.csv'\]"),
    (tgz_bytes({"../escape.txt": b"x"}), FileFormatError, "a path outside its folder"),
])
def test_an_archive_that_is_not_the_published_one_leaves_nothing(served, monkeypatch, tmp_path,
                                                                  archive, error, message):
    folder, base, _ = served
    (folder / "data.tgz").write_bytes(archive)
    register(monkeypatch, "broken", RemoteFile(f"{base}/data.tgz", extract=True),
             files={"ratings": "ratings.csv"}, note="no checksum")
    with pytest.raises(error, match=message):
        fetch_dataset("broken", progress=False)
    datasets = cache_dir("datasets")
    assert not (datasets / "broken").exists() and list(datasets.iterdir()) == []
    assert not (tmp_path / "cache" / "escape.txt").exists()


def test_a_folder_that_is_not_a_complete_fetch_is_left_alone(monkeypatch):
    register(monkeypatch, "mine", RemoteFile("https://example.org/mine.zip", extract=True))
    folder = cache_dir("datasets") / "mine"
    folder.mkdir(parents=True)
    (folder / "my_notes.txt").write_text("keep")
    with pytest.raises(DataError, match="exists but is not a complete fetch"):
        fetch_dataset("mine", progress=False)
    assert (folder / "my_notes.txt").read_text() == "keep"


def test_without_network_the_error_says_where_to_put_the_file(monkeypatch):
    monkeypatch.setenv("BRISKML_MIRROR", OFFLINE_URL)
    with pytest.raises(DownloadError) as caught:
        fetch_dataset("ml-latest-small", progress=False)
    message = str(caught.value)
    assert f"put it at {cache_dir('downloads') / 'ml-latest-small.zip'}" in message
    assert "sha256 696d65a3" in message


def test_a_mirror_serves_the_same_file_names(served, monkeypatch):
    folder, base, requests = served
    payload = zip_bytes({"u.data": b"1\t10\t4\t0\n", "u.item": b"10|Film\n", "u.user": b"1\n"})
    (folder / "ml-100k.zip").write_bytes(payload)
    published = registry.DATASETS["ml-100k"].remote[0]
    test_copy = RemoteFile(published.url, len(payload), hashlib.sha256(payload).hexdigest(),
                           extract=True)
    register(monkeypatch, "ml-100k", test_copy, files=registry.DATASETS["ml-100k"].files)
    monkeypatch.setenv("BRISKML_MIRROR", base + "/")
    assert fetch_dataset("ml-100k", progress=False) == cache_dir("datasets") / "ml-100k"
    assert requests == ["/ml-100k.zip"]
