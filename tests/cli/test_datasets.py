"""`briskml datasets list | path | fetch`, with a server on 127.0.0.1 standing in for the hosts."""

from __future__ import annotations

import hashlib
import io
import zipfile

from briskml.datasets import bundled_path
from briskml.datasets.registry import DATASETS, Dataset, RemoteFile
from briskml.download import cache_dir
from tests.cli.conftest import run_briskml, run_cli
from tests.cli.local_server import OFFLINE_URL, serve_folder


def test_list_shows_every_dataset_and_what_is_here():
    result = run_cli("datasets", "list")
    assert result.code == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert set(rows) == set(DATASETS)
    assert rows["imdb"][1:4] == ["84.1", "MB", "sha256"] and "no" in rows["imdb"]
    assert "bundled" in rows["bundled-adult"]
    verbose = run_cli("datasets", "list", "-v").stdout
    assert "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip" in verbose
    assert "licence: GroupLens research licence" in verbose


def test_path_prints_where_a_dataset_is_or_will_be(tmp_path):
    bundled = run_cli("datasets", "path", "bundled-movielens", "movies")
    assert bundled.stdout == f"{bundled_path('movielens_sample_movies.csv.gz')}\n"
    assert bundled.stderr == ""
    remote = run_cli("datasets", "path", "ml-latest-small", "ratings")
    assert remote.stdout == f"{tmp_path / 'cache' / 'datasets' / 'ml-latest-small'}/ratings.csv\n"
    assert "not fetched yet: briskml datasets fetch ml-latest-small" in remote.stderr
    unknown = run_cli("datasets", "path", "movielens")
    assert unknown.code == 2 and "No dataset called 'movielens'; did you mean" in unknown.stderr


def test_fetch_downloads_checks_and_unpacks(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("toy/ratings.csv", "userId,movieId,rating\n1,10,4.0\n")
    (served / "toy.zip").write_bytes(buffer.getvalue())
    with serve_folder(served) as (base, _):
        remote = RemoteFile(f"{base}/toy.zip", sha256=hashlib.sha256(buffer.getvalue()).hexdigest(),
                            extract=True)
        monkeypatch.setitem(DATASETS, "toy", Dataset("toy", "Toy", "", "", "", remote=(remote,),
                                                     files={"ratings": "ratings.csv"}))
        result = run_cli("datasets", "fetch", "toy")
    assert result.code == 0, result.stderr
    assert result.stdout == f"{cache_dir('datasets') / 'toy'}\n"
    assert f"fetching {base}/toy.zip (-, checked by sha256)" in result.stderr
    assert (cache_dir("datasets") / "toy" / "ratings.csv").is_file()
    again = run_cli("datasets", "fetch", "toy")  # the server is gone: nothing is downloaded
    assert again.code == 0 and "toy is already here (fetched)" in again.stderr
    assert "fetched" in run_cli("datasets", "list").stdout


def test_fetch_without_network_says_where_to_put_the_file(tmp_path):
    result = run_briskml("datasets", "fetch", "ml-latest-small", cwd=tmp_path,
                         extra_env={"BRISKML_MIRROR": OFFLINE_URL})
    assert result.returncode == 2
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: Could not download http://127.0.0.1:9/ml-latest-small.zip")
    assert f"put it at {tmp_path / 'cache' / 'downloads' / 'ml-latest-small.zip'}" in error
    assert "Traceback" not in result.stderr
