"""The public datasets the lessons use: where each comes from, how it is checked, where it goes.

`fetch_dataset(name)` downloads a dataset's files into the download cache (streamed, atomic, see
`briskml.download`), checks each against what is published about it (sha256, else md5, else size
and archive format: no checksum here is made up), unpacks archives into
`$BRISKML_CACHE/datasets/<name>` (else ~/.cache/briskml/datasets/<name>) and only then marks the
folder complete. Without network the error names the URL and the path where a copy fetched by hand
should go. `BRISKML_MIRROR=<base URL>` fetches every file by its name from your own server instead.
"""

from __future__ import annotations

import contextlib
import difflib
import gzip
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from briskml.download import CHUNK_BYTES, DownloadError, cache_dir, download
from briskml.errors import ConfigError, DataError, FileFormatError

MIRROR_ENV = "BRISKML_MIRROR"
COMPLETE_MARKER = ".briskml-fetched"
_BUNDLED = Path(__file__).parent / "data"
_UNREADABLE_ARCHIVE = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error,
                       gzip.BadGzipFile)


@dataclass(frozen=True)
class RemoteFile:
    """One file to download, and what is published about it to check it by."""

    url: str
    size: int | None = None      # bytes, where published
    sha256: str | None = None
    md5: str | None = None       # some sources publish only md5
    extract: bool = False        # an archive whose contents make up the dataset

    @property
    def filename(self) -> str:
        """The file's name, as in its URL."""
        return PurePosixPath(self.url.split("?")[0]).name

    @property
    def checked_by(self) -> str:
        """How a download of this file is verified."""
        if self.sha256:
            return "sha256"
        if self.md5:
            return "md5"
        checks = [name for name, known in (("size", self.size), ("format", self.extract)) if known]
        return " + ".join(checks) or "unchecked"


@dataclass(frozen=True)
class Dataset:
    """A dataset the lessons use: its files, licence, and the names of the files inside it.

    `files` maps short names ("ratings", "train") to paths inside the dataset's folder;
    `main_file`, when set, is what `dataset_path(name)` returns instead of the folder.
    """

    name: str
    title: str
    description: str
    licence: str
    homepage: str
    remote: tuple[RemoteFile, ...] = ()
    bundled: bool = False
    files: Mapping[str, str] = field(default_factory=dict)
    main_file: str | None = None
    note: str = ""

    @property
    def size(self) -> int | None:
        """Bytes to download, when every file's size is published."""
        sizes = [remote.size for remote in self.remote]
        return sum(sizes) if sizes and None not in sizes else None

    @property
    def checked_by(self) -> str:
        """How a fetch is verified: each distinct check among its files."""
        if self.bundled:
            return "bundled"
        return ", ".join(dict.fromkeys(remote.checked_by for remote in self.remote))


_GROUPLENS = "https://files.grouplens.org/datasets/movielens"
_UCI_ADULT = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult"
_WIKITEXT_LICENCE = "CC BY-SA 3.0; cite Merity et al. (2016), arXiv:1609.07843"
_WIKITEXT_HOME = ("https://blog.salesforceairesearch.com/the-wikitext-long-term-dependency-"
                  "language-modeling-dataset/")
_WIKITEXT_FILES = {"train": "wiki.train.tokens", "valid": "wiki.valid.tokens",
                   "test": "wiki.test.tokens"}
_FASTAI_NOTE = ("fastai publishes no checksum for this archive: fetch checks that it unpacks "
                "and holds the expected files")

# sha256 / md5 values are those published by the datasets' hosts or recorded by widely used
# loaders (torchtext, Hugging Face datasets, TFDS); the Adult md5 values are UCI's.
DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in (
    Dataset(
        "adult", "UCI Adult (Census Income)",
        "32,561 training + 16,281 test rows, target salary; no header row, values after each "
        "comma start with a space (pd.read_csv(..., header=None, skipinitialspace=True))",
        "CC BY 4.0; cite Becker & Kohavi (1996), https://doi.org/10.24432/C5XW20",
        "https://archive.ics.uci.edu/dataset/2/adult",
        remote=(RemoteFile(f"{_UCI_ADULT}/adult.data", 3_974_305,
                           md5="5d7c39d7b8804f071cdd1f2a7c460872"),
                RemoteFile(f"{_UCI_ADULT}/adult.test", 2_003_153,
                           md5="35238206dfdf7f1fe215bbb874adecdc"),
                RemoteFile(f"{_UCI_ADULT}/adult.names")),
        files={"train": "adult.data", "test": "adult.test", "names": "adult.names"},
        note="adult.names has no published checksum; it is fetched unchecked"),
    Dataset(
        "adult-sample", "Adult sample (fastai's ADULT_SAMPLE, as in the tabular lesson)",
        "adult.csv: the 32,561 Adult training rows shuffled, with a header row; target salary",
        "CC BY 4.0 (UCI Adult)", "https://course.fast.ai/datasets",
        remote=(RemoteFile("https://s3.amazonaws.com/fast-ai-sample/adult_sample.tgz",
                           extract=True),),
        files={"adult": "adult.csv"}, main_file="adult.csv", note=_FASTAI_NOTE),
    Dataset(
        "ml-100k", "MovieLens 100k",
        "100,000 ratings (1-5) of 1,682 movies by 943 users; u.data is tab-separated with no "
        "header (user, item, rating, timestamp)",
        "GroupLens research licence: non-commercial, cite Harper & Konstan (2015), keep README",
        "https://grouplens.org/datasets/movielens/100k/",
        remote=(RemoteFile(f"{_GROUPLENS}/ml-100k.zip", 4_924_029,
                           sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
                           md5="0e33842e24a9c977be4e0107933c0723", extract=True),),
        files={"ratings": "u.data", "movies": "u.item", "users": "u.user"}),
    Dataset(
        "ml-latest-small", "MovieLens latest-small (lesson 5)",
        "100,836 ratings (0.5-5 stars) of 9,742 movies by 610 users, with titles and genres "
        "(version generated 2018-09-26)",
        "GroupLens research licence: non-commercial, cite Harper & Konstan (2015), keep README",
        "https://grouplens.org/datasets/movielens/latest/",
        remote=(RemoteFile(f"{_GROUPLENS}/ml-latest-small.zip",
                           sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
                           extract=True),),
        files={"ratings": "ratings.csv", "movies": "movies.csv", "links": "links.csv",
               "tags": "tags.csv", "readme": "README.txt"}),
    Dataset(
        "imdb", "IMDb Large Movie Review Dataset v1.0 (ULMFiT)",
        "50,000 labelled reviews (train/test, pos/neg folders) and 50,000 unlabelled ones",
        "research use (Maas et al., ACL 2011); the review text belongs to IMDb: do not "
        "redistribute it", "https://ai.stanford.edu/~amaas/data/sentiment/",
        remote=(RemoteFile("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                           84_125_825,
                           sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                           md5="7c2ac02c03563afcf9b574c7e56c153a", extract=True),),
        files={"train": "train", "test": "test", "unsup": "train/unsup"}),
    Dataset(
        "imdb-sample", "IMDb sample (fastai's IMDB_SAMPLE)",
        "texts.csv: 1,000 labelled reviews with columns label, text, is_valid",
        "research use (Maas et al., ACL 2011); do not redistribute the review text",
        "https://course.fast.ai/datasets",
        remote=(RemoteFile("https://s3.amazonaws.com/fast-ai-sample/imdb_sample.tgz",
                           extract=True),),
        files={"texts": "texts.csv"}, main_file="texts.csv", note=_FASTAI_NOTE),
    Dataset(
        "wikitext-2", "WikiText-2 (v1, word level)",
        "2,088,628 training tokens of Wikipedia articles, vocabulary 33,278, with <unk>",
        _WIKITEXT_LICENCE, _WIKITEXT_HOME,
        remote=(RemoteFile("https://wikitext.smerity.com/wikitext-2-v1.zip",
                           sha256="92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c",
                           md5="542ccefacc6c27f945fb54453812b3cd", extract=True),),
        files=_WIKITEXT_FILES),
    Dataset(
        "wikitext-103", "WikiText-103 (v1, word level; ULMFiT's pretraining corpus)",
        "103 million training tokens of Wikipedia articles, vocabulary 267,735, with <unk>",
        _WIKITEXT_LICENCE, _WIKITEXT_HOME,
        remote=(RemoteFile("https://wikitext.smerity.com/wikitext-103-v1.zip",
                           sha256="242ba0f20b329cfdf1ccc61e9e9e5b59becf189db7f7a81cd2a0e2fc31539590",
                           md5="9ddaacaf6af0710eda8c456decff7832", extract=True),),
        files=_WIKITEXT_FILES),
    Dataset(
        "bundled-adult", "Adult sample shipped with briskml",
        "5,000 rows of fastai's ADULT_SAMPLE (leading spaces removed); target salary",
        "CC BY 4.0 (UCI Adult); see adult_sample_LICENSE.txt", "https://doi.org/10.24432/C5XW20",
        bundled=True, files={"adult": "adult_sample.csv.gz", "licence": "adult_sample_LICENSE.txt"},
        main_file="adult_sample.csv.gz"),
    Dataset(
        "bundled-movielens", "MovieLens sample shipped with briskml",
        "27,133 ratings of the 300 most-rated movies of ml-latest-small by 300 users, and titles",
        "GroupLens research licence; see movielens_README.txt",
        "https://grouplens.org/datasets/movielens/latest/",
        bundled=True, files={"ratings": "movielens_sample_ratings.csv.gz",
                             "movies": "movielens_sample_movies.csv.gz",
                             "readme": "movielens_README.txt",
                             "notice": "movielens_sample_NOTICE.txt"},
        main_file="movielens_sample_ratings.csv.gz"),
)}


# ----- where datasets are -------------------------------------------------------------------------
def list_datasets() -> list[Dataset]:
    """Every dataset the registry knows, remote ones first."""
    return sorted(DATASETS.values(), key=lambda dataset: (dataset.bundled, dataset.name))


def get_dataset(name: str) -> Dataset:
    """The registry entry called `name` (the error lists the closest names)."""
    if name in DATASETS:
        return DATASETS[name]
    closest = difflib.get_close_matches(name, list(DATASETS), n=3, cutoff=0.4)
    hint = f"did you mean {closest}?" if closest else f"known: {sorted(DATASETS)}"
    raise ConfigError(f"No dataset called {name!r}; {hint} (briskml datasets list shows them all).")


def dataset_folder(name: str) -> Path:
    """The folder a dataset is (or would be) unpacked into."""
    dataset = get_dataset(name)
    return _BUNDLED if dataset.bundled else cache_dir("datasets") / dataset.name


def dataset_path(name: str, file: str | None = None) -> Path:
    """Where a dataset is, or would be once fetched: its main file or folder, or one of its `files`
    by short name ("ratings") or by path inside the folder.

    Example:
        >>> dataset_path("ml-latest-small", "ratings")   # .../datasets/ml-latest-small/ratings.csv
    """
    dataset = get_dataset(name)
    folder = dataset_folder(name)
    if file is None:
        return folder / dataset.main_file if dataset.main_file else folder
    relative = dataset.files.get(file, file)
    if PurePosixPath(relative).is_absolute() or ".." in PurePosixPath(relative).parts:
        raise ConfigError(f"file must be a name inside the dataset's folder; got {file!r}.")
    # Before a fetch nothing can be checked; afterwards a name must be listed or exist.
    if file not in dataset.files and is_fetched(name) and not (folder / relative).exists():
        raise ConfigError(f"{name} has no file {file!r}; its files are {sorted(dataset.files)} "
                          "(or give a path inside its folder).")
    return folder / relative


def is_fetched(name: str) -> bool:
    """Whether the dataset is ready on disk (bundled, or fetched completely)."""
    dataset = get_dataset(name)
    return dataset.bundled or (dataset_folder(name) / COMPLETE_MARKER).is_file()


# ----- fetching -----------------------------------------------------------------------------------
def fetch_dataset(name: str, progress: bool = True) -> Path:
    """Download, check and unpack a dataset unless it is already there; return `dataset_path`.

    Example:
        >>> folder = fetch_dataset("ml-latest-small")
        >>> ratings = pd.read_csv(dataset_path("ml-latest-small", "ratings"))
    """
    dataset = get_dataset(name)
    if is_fetched(name):
        return dataset_path(name)
    folder = dataset_folder(name)
    if folder.exists():
        raise DataError(f"'{folder}' exists but is not a complete fetch (it has no "
                        f"{COMPLETE_MARKER} file); move or delete it, then fetch again.")
    downloaded = [_download_checked(remote, progress) for remote in dataset.remote]
    with _building(folder) as building:
        for remote, path in zip(dataset.remote, downloaded, strict=True):
            _install(remote, path, building, progress)
        _check_files_present(dataset, building, downloaded)
        record = {"urls": [_mirrored(remote.url) for remote in dataset.remote]}
        (building / COMPLETE_MARKER).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return dataset_path(name)


def _mirrored(url: str) -> str:
    """The URL to fetch: the canonical one, or the same file name under $BRISKML_MIRROR."""
    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        return url
    return f"{mirror.rstrip('/')}/{PurePosixPath(url.split('?')[0]).name}"


def _download_checked(remote: RemoteFile, progress: bool) -> Path:
    """Download (or reuse) one file and check it; a file that fails a check is deleted."""
    path = download(_mirrored(remote.url), sha256=remote.sha256, filename=remote.filename,
                    progress=progress)
    problem = _problem_with(path, remote)
    if problem:
        path.unlink()
        raise DownloadError(f"{path.name} {problem}, so it was deleted. Fetch again, or put a "
                            f"correct copy of {remote.url} at {path}.")
    return path


def _problem_with(path: Path, remote: RemoteFile) -> str | None:
    """What is wrong with a downloaded file, or None (sha256 is checked by `download` itself)."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        return f"has {size:,} bytes, not the published {remote.size:,}"
    if remote.md5 is not None and not remote.sha256:
        digest = _md5_of(path)
        if digest != remote.md5:
            return f"has md5 {digest}, not the published {remote.md5}"
    return None


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _building(folder: Path) -> Iterator[Path]:
    """A temporary folder beside `folder`, renamed to it only if the block succeeds."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        yield building
        os.replace(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _install(remote: RemoteFile, path: Path, building: Path, progress: bool) -> None:
    """Copy a plain file into the dataset's folder, or unpack an archive there."""
    if not remote.extract:
        shutil.copyfile(path, building / remote.filename)
        return
    staging = building / ".unpacking"
    try:
        _unpack(path, staging, progress)
    except _UNREADABLE_ARCHIVE as error:
        path.unlink(missing_ok=True)
        raise FileFormatError(f"{path.name} is not a readable archive ({error}), so it was "
                              f"deleted. Fetch again, or put a correct copy of {remote.url} at "
                              f"{path}.") from error
    _move_contents_up(staging, building)


def _unpack(archive: Path, target: Path, progress: bool) -> None:
    """Unpack a zip or tar archive, refusing members that would land outside `target`."""
    target.mkdir()
    bar = {"desc": f"unpacking {archive.name}", "unit": "files", "file": sys.stderr,
           "leave": False, "disable": None if progress else True}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            for member in tqdm(handle.infolist(), **bar):
                _check_member_name(member.filename, archive)
                handle.extract(member, target)
        return
    with tarfile.open(archive) as handle:
        for member in tqdm(handle, **bar):
            _check_member_name(member.name, archive)
            _check_plain_member(member, archive)
            handle.extract(member, target, **_TAR_FILTER)


def _check_member_name(name: str, archive: Path) -> None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise FileFormatError(f"{archive.name} holds {name!r}, a path outside its folder; it was "
                              "not unpacked. Check where the archive came from.")


# Python's "data" filter (3.10.12+, 3.11.4+) also refuses links that point outside the folder.
_TAR_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _check_plain_member(member: tarfile.TarInfo, archive: Path) -> None:
    if not (member.isfile() or member.isdir()):
        raise FileFormatError(f"{archive.name} holds {member.name!r}, which is not a plain file "
                              "or folder (a link or device); it was not unpacked.")


def _move_contents_up(staging: Path, building: Path) -> None:
    """Archives usually hold one top folder (ml-latest-small/, aclImdb/): lift its contents."""
    entries = list(staging.iterdir())
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
    for child in root.iterdir():
        child.rename(building / child.name)
    shutil.rmtree(staging)


def _check_files_present(dataset: Dataset, building: Path, downloaded: list[Path]) -> None:
    missing = [relative for relative in dataset.files.values()
               if not (building / relative).exists()]
    if missing:
        for path in downloaded:
            path.unlink(missing_ok=True)
        names = ", ".join(path.name for path in downloaded)
        raise FileFormatError(f"{names} unpacked without {missing}, so it is not the published "
                              f"{dataset.name} and was deleted; fetch again, or check the mirror "
                              "it came from.")


def describe_size(num_bytes: int | None) -> str:
    """Bytes as people read them: "4.9 MB" ("-" when unknown)."""
    if num_bytes is None:
        return "-"
    units = ("B", "kB", "MB", "GB")
    size, index = float(num_bytes), 0
    while size >= 1000 and index < len(units) - 1:
        size, index = size / 1000, index + 1
    return f"{num_bytes} B" if index == 0 else f"{size:.1f} {units[index]}"


__all__ = ["DATASETS", "Dataset", "RemoteFile", "dataset_folder", "dataset_path",
           "describe_size", "fetch_dataset", "get_dataset", "is_fetched", "list_datasets"]
