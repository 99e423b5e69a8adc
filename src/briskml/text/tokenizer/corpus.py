"""Tokenised documents held as flat id arrays, and the on-disk token cache.

A corpus stores every document's tokens in one array of ids into `tokens` (the distinct token
strings, in order of first appearance): document i is `ids[offsets[i]:offsets[i + 1]]`. Counting,
splitting and numericalising are then single NumPy operations, and the arrays can be memory-mapped.

A cache entry is never trusted blindly: its arrays carry checksums and are checked (dtype, shape,
offsets, id range) before use; a damaged entry (truncated, edited, bit-flipped, empty) is reported
in a BriskWarning, deleted, and the texts are tokenised again. The warnings given when an entry
was built are kept in it and given again whenever it is reused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from briskml.download import cache_dir
from briskml.errors import FileFormatError, warn
from briskml.text.arrays import Spool, read_arrays, write_arrays
from briskml.text.tokenizer.texts import TextReport

# What one batch of documents sends back from a worker: the worker's id, the token strings it
# created since its last reply, the token ids, tokens per document, empty documents.
ChunkResult = tuple[int, list[str], np.ndarray, np.ndarray, int]
# Part of every cache key: entries of another layout are never read (2: entries carry checksums).
CACHE_FORMAT = 2

@dataclass
class TokenizedCorpus:
    """Documents as token ids: document i is `tokens[j] for j in ids[offsets[i]:offsets[i+1]]`.

    Example:
        >>> corpus = Tokenizer().tokenize(["Hello world!", "Bye."])
        >>> corpus[0]
        ['xxbos', 'xxmaj', 'hello', 'world', '!']
    """

    tokens: list[str]
    ids: np.ndarray
    offsets: np.ndarray
    num_empty: int = 0  # documents that were empty or missing (kept as just xxbos)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> list[str]:
        start, end = self.offsets[index], self.offsets[index + 1]
        return [self.tokens[i] for i in self.ids[start:end].tolist()]

    def __iter__(self) -> Iterator[list[str]]:
        for index in range(len(self)):
            yield self[index]

    @property
    def lengths(self) -> np.ndarray:
        """Number of tokens in each document."""
        return np.diff(self.offsets)

    @property
    def num_tokens(self) -> int:
        """Number of tokens in all documents."""
        return int(self.offsets[-1])

    def counts(self, documents: np.ndarray | None = None) -> np.ndarray:
        """How often each of `tokens` occurs (in the given documents only, if any)."""
        ids = np.asarray(self.ids)
        if documents is not None:
            chosen = np.zeros(len(self), dtype=bool)
            chosen[documents] = True
            ids = ids[np.repeat(chosen, self.lengths)]
        return np.bincount(ids, minlength=len(self.tokens))


def token_positions(offsets: np.ndarray, documents: np.ndarray, backwards: bool = False
                    ) -> np.ndarray:
    """Positions in the flat id array of every token of `documents`, concatenated in that order.

    With `backwards`, each document's positions are reversed (its tokens read right to left).
    """
    documents = np.asarray(documents, dtype=np.int64)
    starts = np.asarray(offsets[documents], dtype=np.int64)
    lengths = np.asarray(offsets[documents + 1], dtype=np.int64) - starts
    if backwards:
        return ragged_ranges(starts + lengths - 1, lengths, step=-1)
    return ragged_ranges(starts, lengths)


def ragged_ranges(starts: np.ndarray, lengths: np.ndarray, step: int = 1) -> np.ndarray:
    """Concatenate range(start, start + step * length, step) for each pair, without a loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    # Each output position is its range's start plus its rank inside the range.
    range_starts = np.cumsum(lengths) - lengths
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - step * range_starts, lengths)
    return shift + step * np.arange(total, dtype=np.int64)


# ----- the token cache ----------------------------------------------------------------------------
def cache_directory() -> Path:
    """Where tokenised corpora are cached: $BRISKML_CACHE/tokens, else ~/.cache/briskml/tokens."""
    return cache_dir("tokens")


def text_cache_key(settings: dict[str, Any], texts: Sequence[str]) -> str:
    """A key for tokenising `texts` with `settings`: hash of settings, lengths and content."""
    hasher = _settings_hasher(settings, "texts")
    hasher.update(np.array([len(text) for text in texts], dtype=np.int64).tobytes())
    hasher.update("".join(texts).encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()


def file_cache_key(settings: dict[str, Any], paths: Sequence[Path], extra: Any = None) -> str:
    """A key for tokenising the content of files (names do not matter, bytes and order do)."""
    hasher = _settings_hasher(settings, {"files": extra})
    for path in paths:
        data = Path(path).read_bytes()
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


def _settings_hasher(settings: dict[str, Any], source: Any) -> Any:
    hasher = hashlib.blake2b(digest_size=20)
    document = {"settings": settings, "source": source, "cache_format": CACHE_FORMAT}
    hasher.update(json.dumps(document, sort_keys=True).encode())
    return hasher


def load_cached(key: str) -> TokenizedCorpus | None:
    """The cached corpus for `key`, memory-mapped, or None if there is none; a damaged entry is
    reported in a BriskWarning and deleted (the caller tokenises again and rewrites it)."""
    corpus, _ = _load_entry(cache_directory() / f"{key}.safetensors")
    return corpus


def _load_entry(path: Path) -> tuple[TokenizedCorpus | None, list[str]]:
    """(corpus, the warnings kept with it), or (None, []) when there is no usable entry."""
    if not path.exists() and not path.is_symlink():
        return None, []
    try:
        return checked_corpus(path)
    except (FileFormatError, ValueError, TypeError, KeyError, OSError) as error:
        reason = str(error).replace(f"'{path}'", "it").rstrip(".")
        warn(f"The token cache entry '{path}' is damaged ({reason}); it is deleted and the texts "
             "are tokenised again.")
        _delete(path)
        return None, []


def checked_corpus(path: Path) -> tuple[TokenizedCorpus, list[str]]:
    """A cache entry, memory-mapped, after checking its layout and checksums: (corpus, the
    warnings kept with it); ValueError or FileFormatError saying what is wrong."""
    if not path.is_file():
        raise ValueError("it is not a file")
    arrays, meta = read_arrays(path, mmap=True)
    if meta.get("kind") != "tokenized_corpus" or set(arrays) != {"ids", "offsets"}:
        raise ValueError("it does not hold a tokenised corpus")
    tokens, notes = meta.get("tokens"), meta.get("warnings", [])
    if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
        raise ValueError("its token list is not a list of strings")
    if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
        raise ValueError("its warnings are not a list of strings")
    ids, offsets = arrays["ids"], arrays["offsets"]
    if ids.dtype != np.int32 or ids.ndim != 1 or offsets.dtype != np.int64 or offsets.ndim != 1:
        raise ValueError(f"its arrays have the wrong type or shape (ids {ids.dtype} "
                         f"{ids.shape}, offsets {offsets.dtype} {offsets.shape})")
    if meta.get("checksum") != array_checksums(ids, offsets):
        raise ValueError("its checksum does not match its content")
    _check_layout(ids, offsets, len(tokens))
    num_empty = meta.get("num_empty", 0)
    if type(num_empty) is not int or not 0 <= num_empty < len(offsets):
        raise ValueError(f"its count of empty documents is {num_empty!r}")
    return TokenizedCorpus(tokens, ids, offsets, num_empty), notes


def _check_layout(ids: np.ndarray, offsets: np.ndarray, num_tokens: int) -> None:
    if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(ids):
        raise ValueError("its offsets do not span its ids")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("its offsets decrease")
    if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= num_tokens):
        raise ValueError(f"its ids are not all in [0, {num_tokens})")


def array_checksums(ids: np.ndarray | Spool, offsets: np.ndarray) -> dict[str, str]:
    """The checksums a cache entry keeps of its arrays (a spool hashes what it was given)."""
    ids_digest = ids.digest() if isinstance(ids, Spool) else _digest(ids)
    return {"ids": ids_digest, "offsets": _digest(offsets)}


def _digest(array: np.ndarray) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    if array.size:
        hasher.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return hasher.hexdigest()


def _delete(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass  # a leftover we cannot remove is overwritten or reported again next time


def write_corpus(path: Path, tokens: list[str], ids: np.ndarray | Spool, offsets: np.ndarray,
                 meta: dict[str, Any] | None = None) -> Path:
    """Write a corpus (ids from memory or from a spool file) as one safetensors file, atomically,
    with the checksums `checked_corpus` verifies."""
    return write_arrays(path, {"ids": ids, "offsets": offsets},
                        {"kind": "tokenized_corpus", "tokens": tokens,
                         "checksum": array_checksums(ids, offsets), **(meta or {})})


# ----- collecting a corpus from batches ----------------------------------------------------
class CorpusBuilder:
    """Collects batch results from workers into one corpus (spooled to the cache if keyed).

    `report` counts texts read on the way (a stream: the caller reads them as the workers ask);
    with `files`, empty documents are empty files and are counted here. `finish` gives the
    warnings, and a cache entry keeps them to give them again.
    """

    def __init__(self, key: str | None, report: TextReport | None = None,
                 files: bool = False) -> None:
        self.key, self.report, self.files = key, report, files
        self.index: dict[str, int] = {}
        self.worker_maps: dict[int, np.ndarray] = {}
        self.pieces: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []
        self.num_docs = 0
        self.num_empty = 0
        self.bad_files: list[int] = []
        self.spool = _open_spool() if key is not None else None

    def add(self, result: tuple[ChunkResult, list[int]]) -> None:
        """Merge one batch: map the worker's token ids to corpus ids and keep them."""
        (worker, new_tokens, ids, lengths, num_empty), bad = result
        index = self.index
        new_ids = np.fromiter((index.setdefault(token, len(index)) for token in new_tokens),
                              dtype=np.int32, count=len(new_tokens))
        mapping = np.concatenate([self.worker_maps.get(worker, new_ids[:0]), new_ids])
        self.worker_maps[worker] = mapping
        corpus_ids = mapping[ids]
        if self.spool is not None:
            self.spool.append(corpus_ids)
        else:
            self.pieces.append(corpus_ids)
        self.bad_files.extend(self.num_docs + position for position in bad)
        self.lengths.append(lengths)
        self.num_docs += len(lengths)
        self.num_empty += num_empty

    def abandon(self) -> None:
        """Delete the spool file of a corpus that will not be finished (its input failed)."""
        if self.spool is not None:
            self.spool.close()
            self.spool = None

    def notes(self, extra: Sequence[str] = ()) -> list[str]:
        """The warnings about this corpus's input: empty files, the report's counts, `extra`."""
        notes = []
        if self.files and self.num_empty:
            notes.append(f"{self.num_empty:,} of {self.num_docs:,} files are empty; each is kept "
                         "as just xxbos. Remove them first if they carry no information.")
        message = self.report.message() if self.report is not None else None
        return [*notes, *([message] if message else []), *extra]

    def finish(self, extra_notes: Sequence[str] = ()) -> TokenizedCorpus:
        """The corpus, after giving the input's warnings (`notes`); written to the cache, with
        the warnings, first if this builder has a key."""
        notes = self.notes(extra_notes)
        for note in notes:
            warn(note)
        tokens = list(self.index)
        offsets = np.concatenate([[0], np.cumsum(np.concatenate([[0], *self.lengths]))[1:]])
        offsets = offsets.astype(np.int64)
        if self.spool is None:
            ids = np.concatenate([np.zeros(0, dtype=np.int32), *self.pieces])
            return TokenizedCorpus(tokens, ids, offsets, self.num_empty)
        with self.spool:
            return _write_cache(self.key, tokens, self.spool, offsets, self.num_empty, notes)


def _open_spool() -> Spool | None:
    directory = cache_directory()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return Spool(np.int32, directory)
    except OSError as error:
        _warn_cache(directory, error)
        return None


def _write_cache(key: str, tokens: list[str], spool: Spool, offsets: np.ndarray,
                 num_empty: int, notes: list[str]) -> TokenizedCorpus:
    path = cache_directory() / f"{key}.safetensors"
    try:
        write_corpus(path, tokens, spool, offsets, {"num_empty": num_empty, "warnings": notes})
    except OSError as error:
        _warn_cache(path, error)
    corpus = load_cached(key)
    if corpus is None:  # the write failed: read the spool back instead
        spool.handle.flush()
        ids = np.fromfile(spool.path, dtype=np.int32)
        corpus = TokenizedCorpus(tokens, ids, offsets, num_empty)
    return corpus


def load_cached_or_none(key: str | None) -> TokenizedCorpus | None:
    """The cached corpus for `key` (None: no cache, or no usable entry), giving again the
    warnings its input had when it was built."""
    if key is None:
        return None
    corpus, notes = _load_entry(cache_directory() / f"{key}.safetensors")
    if corpus is not None:
        for note in notes:
            warn(note)
    return corpus


def _warn_cache(path: Path, error: OSError) -> None:
    warn(f"Could not write the token cache at '{path}' ({error}); tokens are not cached. "
         "Set BRISKML_CACHE to a writable directory or pass cache=False.")
