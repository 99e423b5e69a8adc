"""Tokenised documents held as flat id arrays, and the on-disk token cache.

A corpus stores every document's tokens in one array of ids into `tokens` (the distinct token
strings, in order of first appearance): document i is `ids[offsets[i]:offsets[i + 1]]`. Counting,
splitting and numericalising are then single NumPy operations, and the arrays can be memory-mapped.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from briskml.download import cache_dir
from briskml.errors import BriskWarning, FileFormatError
from briskml.text.arrays import Spool, read_arrays, write_arrays

# What one batch of documents sends back from a worker: the worker's id, the token strings it
# created since its last reply, the token ids, tokens per document, empty documents.
ChunkResult = tuple[int, list[str], np.ndarray, np.ndarray, int]



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
    hasher.update(json.dumps({"settings": settings, "source": source}, sort_keys=True).encode())
    return hasher


def load_cached(key: str) -> TokenizedCorpus | None:
    """The cached corpus for `key`, memory-mapped, or None if there is none (or it is damaged)."""
    path = cache_directory() / f"{key}.safetensors"
    if not path.is_file():
        return None
    try:
        arrays, meta = read_arrays(path, mmap=True)
        return TokenizedCorpus(meta["tokens"], arrays["ids"], arrays["offsets"],
                               meta.get("num_empty", 0))
    except (FileFormatError, KeyError, ValueError, OSError):
        return None  # a damaged entry is recomputed and overwritten


def write_corpus(path: Path, tokens: list[str], ids: np.ndarray | Spool, offsets: np.ndarray,
                 meta: dict[str, Any] | None = None) -> Path:
    """Write a corpus (ids from memory or from a spool file) as one safetensors file, atomically."""
    return write_arrays(path, {"ids": ids, "offsets": offsets},
                        {"kind": "tokenized_corpus", "tokens": tokens, **(meta or {})})


# ----- collecting a corpus from batches ----------------------------------------------------
class CorpusBuilder:
    """Collects batch results from workers into one corpus (spooled to the cache if keyed)."""

    def __init__(self, key: str | None) -> None:
        self.key = key
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

    def finish(self) -> TokenizedCorpus:
        """The corpus; written to the cache first if this builder has a key."""
        warn_empty(self.num_empty, self.num_docs)
        tokens = list(self.index)
        offsets = np.concatenate([[0], np.cumsum(np.concatenate([[0], *self.lengths]))[1:]])
        offsets = offsets.astype(np.int64)
        if self.spool is None:
            ids = np.concatenate([np.zeros(0, dtype=np.int32), *self.pieces])
            return TokenizedCorpus(tokens, ids, offsets, self.num_empty)
        with self.spool:
            return _write_cache(self.key, tokens, self.spool, offsets, self.num_empty)


def _open_spool() -> Spool | None:
    directory = cache_directory()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return Spool(np.int32, directory)
    except OSError as error:
        _warn_cache(directory, error)
        return None


def _write_cache(key: str, tokens: list[str], spool: Spool, offsets: np.ndarray,
                 num_empty: int) -> TokenizedCorpus:
    path = cache_directory() / f"{key}.safetensors"
    try:
        write_corpus(path, tokens, spool, offsets, {"num_empty": num_empty})
    except OSError as error:
        _warn_cache(path, error)
    corpus = load_cached(key)
    if corpus is None:  # the write failed: read the spool back instead
        spool.handle.flush()
        ids = np.fromfile(spool.path, dtype=np.int32)
        corpus = TokenizedCorpus(tokens, ids, offsets, num_empty)
    return corpus


def load_cached_or_none(key: str | None) -> TokenizedCorpus | None:
    """The cached corpus for `key` (None: no cache), re-warning about its empty documents."""
    corpus = None if key is None else load_cached(key)
    if corpus is not None:
        warn_empty(corpus.num_empty, len(corpus))
    return corpus


def warn_empty(num_empty: int, total: int) -> None:
    """Warn that empty or missing texts were kept as just xxbos, with their count."""
    if num_empty:
        warnings.warn(f"{num_empty:,} of {total:,} texts are empty or missing; each is kept as "
                      "just xxbos. Drop those rows first if they carry no information.",
                      BriskWarning, stacklevel=4)


def _warn_cache(path: Path, error: OSError) -> None:
    warnings.warn(f"Could not write the token cache at '{path}' ({error}); tokens are not cached. "
                  "Set BRISKML_CACHE to a writable directory or pass cache=False.",
                  BriskWarning, stacklevel=4)
