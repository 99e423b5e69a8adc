"""Files fetched over the network: one cache folder, streamed downloads, sha256 checks.

Everything briskml fetches (pretrained language models, public datasets) goes through `download`:
the file is streamed into a temporary file beside its final place while its sha256 is computed,
checked, and only then moved into the cache, so an interrupted or corrupted download never
replaces a good file. A cached file whose checksum matches is reused without touching the network.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from briskml.errors import BriskError
from briskml.persist import atomic_path

CACHE_ENV = "BRISKML_CACHE"
CHUNK_BYTES = 1 << 20


class DownloadError(BriskError, OSError):
    """A download failed or its checksum did not match; the message says where to put the file."""


def cache_dir(kind: str) -> Path:
    """The cache folder for `kind` ("downloads", "tokens" ...): $BRISKML_CACHE/kind, else
    ~/.cache/briskml/kind."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "briskml"
    return Path(root) / kind


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, sha256: str | None = None, filename: str | None = None,
             folder: str | os.PathLike | None = None, progress: bool = True,
             timeout: float = 60.0) -> Path:
    """Fetch `url` (http, https or file) into the download cache and return the local path.

    With `sha256`, a cached file with that checksum is returned at once and a download that does
    not match it is refused. Without network the error names the URL and the path where a copy
    fetched by hand should go.

    Example:
        >>> path = download("https://example.org/lm.brisk", sha256="3f1c...")
    """
    target = Path(folder) if folder is not None else cache_dir("downloads")
    target = target / (filename or _filename_from(url))
    if target.is_file() and (sha256 is None or sha256_of(target) == sha256.lower()):
        return target
    try:
        with atomic_path(target) as temporary:
            digest = _fetch(url, temporary, progress, timeout)
            if sha256 is not None and digest != sha256.lower():
                raise DownloadError(
                    f"The file from {url} has sha256 {digest}, not the expected {sha256}; it was "
                    f"not saved. Try again, or put a correct copy at {target}."
                )
    except (urllib.error.URLError, OSError, ValueError) as error:
        if isinstance(error, DownloadError):
            raise
        raise DownloadError(
            f"Could not download {url} ({_reason(error)}). Without network, fetch it "
            f"elsewhere and put it at {target}" + (f" (sha256 {sha256})." if sha256 else ".")
        ) from error
    return target


def _fetch(url: str, destination: Path, progress: bool, timeout: float) -> str:
    """Stream `url` into `destination`; return its sha256."""
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "briskml"})
    with urllib.request.urlopen(request, timeout=timeout) as response, \
            open(destination, "wb") as out:
        total = response.headers.get("Content-Length")
        bar = tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                   desc=_filename_from(url), file=sys.stderr, disable=None if progress else True,
                   leave=False)
        with bar:
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    return digest.hexdigest()


def _filename_from(url: str) -> str:
    name = Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise DownloadError(f"Cannot tell a file name from {url!r}; pass filename=.")
    return name


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered HTTP {error.code} {error.reason}"
    reason = getattr(error, "reason", None)
    return str(reason if reason is not None else error)
