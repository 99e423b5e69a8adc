"""Vocabulary: token strings <-> ids, special tokens first, then by frequency."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from briskml.checks import check_positive_int, is_int
from briskml.errors import ConfigError, FileFormatError
from briskml.persist import write_json
from briskml.schema import (
    expect_dict,
    expect_int,
    expect_key,
    expect_list,
    expect_str,
    fail,
    in_file,
)
from briskml.text.tokenizer.corpus import TokenizedCorpus
from briskml.text.tokenizer.rules import PAD, SPECIAL_TOKENS, UNK

_FORMAT = "briskml.vocab"
_VERSION = 1
# The most tokens a saved vocabulary may hold (fastai keeps 60,000; ids are int32 beyond 65,536),
# and the most special tokens.
MAX_TOKENS = 1 << 24
MAX_SPECIAL_TOKENS = 64


class Vocab:
    """Token strings and their ids: special tokens first (xxunk = 0, xxpad = 1), then by frequency.

    Example:
        >>> vocab = Vocab.from_corpus(corpus, max_vocab=60000, min_freq=2)
        >>> ids = vocab.numericalize(["xxbos", "xxmaj", "hello"])
        >>> vocab.textify(ids)
        'xxbos xxmaj hello'
    """

    def __init__(self, tokens: Sequence[str],
                 special_tokens: Sequence[str] = SPECIAL_TOKENS) -> None:
        self.tokens = list(tokens)
        self.special_tokens = tuple(special_tokens)
        _check_tokens(self.tokens, self.special_tokens)
        self.index = {token: i for i, token in enumerate(self.tokens)}
        self.unk_id = self.index[UNK]
        self.pad_id = self.index[PAD]

    # ----- building ------------------------------------------------------------------------------
    @classmethod
    def from_counts(cls, counts: Mapping[str, int], max_vocab: int = 60000, min_freq: int = 2,
                    special_tokens: Sequence[str] = SPECIAL_TOKENS) -> Vocab:
        """Keep the `max_vocab` most frequent tokens seen `min_freq`+ times (specials included).

        Ties keep the order of `counts` (first seen first), as `Counter.most_common` does.
        """
        tokens = list(counts)
        return cls._from_arrays(tokens, np.fromiter(counts.values(), np.int64, len(tokens)),
                                max_vocab, min_freq, special_tokens)

    @classmethod
    def from_corpus(cls, corpus: TokenizedCorpus, max_vocab: int = 60000, min_freq: int = 2,
                    documents: np.ndarray | None = None,
                    special_tokens: Sequence[str] = SPECIAL_TOKENS) -> Vocab:
        """Build from a tokenised corpus, counting only `documents` (e.g. the training rows)."""
        return cls._from_arrays(corpus.tokens, corpus.counts(documents), max_vocab, min_freq,
                                special_tokens)

    @classmethod
    def _from_arrays(cls, tokens: list[str], counts: np.ndarray, max_vocab: int, min_freq: int,
                     special_tokens: Sequence[str]) -> Vocab:
        _check_limits(max_vocab, min_freq, len(special_tokens))
        specials = set(special_tokens)
        order = np.argsort(-counts, kind="stable")
        kept = [tokens[i] for i in order[counts[order] >= min_freq].tolist()]
        regular = [token for token in kept if token not in specials]
        return cls([*special_tokens, *regular[:max_vocab - len(special_tokens)]], special_tokens)

    # ----- lookups -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.tokens == other.tokens

    def __hash__(self) -> int:
        return hash(tuple(self.tokens))

    @property
    def dtype(self) -> np.dtype:
        """The smallest integer type that holds every id (uint16 up to 65,536 tokens)."""
        return np.dtype(np.uint16) if len(self) <= 1 << 16 else np.dtype(np.int32)

    def numericalize(self, tokens: Iterable[str]) -> Tensor:
        """Ids of tokens (int64); unknown tokens map to xxunk (0)."""
        get, unk = self.index.get, self.unk_id
        return torch.tensor([get(token, unk) for token in tokens], dtype=torch.int64)

    def textify(self, ids: Iterable[int] | Tensor | np.ndarray, sep: str = " ") -> str:
        """Tokens of ids joined by `sep`."""
        values = ids.tolist() if isinstance(ids, (Tensor, np.ndarray)) else list(ids)
        return sep.join(self.tokens[i] for i in values)

    def lookup(self, tokens: Sequence[str]) -> np.ndarray:
        """The id of each token (xxunk for unknown ones), as an array of `dtype`."""
        get, unk = self.index.get, self.unk_id
        return np.fromiter((get(token, unk) for token in tokens), self.dtype, len(tokens))

    def numericalize_corpus(self, corpus: TokenizedCorpus) -> np.ndarray:
        """Ids of every token of a corpus, flat (same offsets), in the compact `dtype`."""
        return self.lookup(corpus.tokens)[np.asarray(corpus.ids)]

    def check_special_tokens(self, special_tokens: Sequence[str], source: str) -> None:
        """Raise if this vocabulary's special tokens differ from a tokenizer's."""
        if tuple(special_tokens) != self.special_tokens:
            raise ConfigError(
                f"The vocab's special tokens {list(self.special_tokens)} differ from {source}'s "
                f"{list(special_tokens)}, so the ids would not match. Build the vocab with the "
                "same kind of tokenizer, or pass a tokenizer with the vocab's special tokens."
            )

    # ----- files ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description."""
        return {"format": _FORMAT, "format_version": _VERSION, "tokens": self.tokens,
                "special_tokens": list(self.special_tokens)}

    @classmethod
    def from_dict(cls, document: Any, source: str | None = None, field: str = "vocab") -> Vocab:
        """Rebuild from `to_dict()`, checking every field first: a SchemaError names it by its
        path (`field`.tokens[3]), or, when `source` (a file) is given, a FileFormatError names
        the file too."""
        if source is not None:
            with in_file(source, "vocabulary", "Save the vocabulary again."):
                return cls.from_dict(document, None, field)
        tokens, special_tokens = check_vocab_dict(document, field)
        return cls(tokens, special_tokens)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON, atomically."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary written by `save`."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise FileFormatError(f"'{path}' is not a JSON vocabulary: {error}.") from None
        return cls.from_dict(document, str(path))

    def __repr__(self) -> str:
        preview = " ".join(self.tokens[len(self.special_tokens):][:8])
        return f"Vocab({len(self)} tokens: {preview} ...)"


def check_vocab_dict(document: Any, field: str = "vocab") -> tuple[list[str], list[str]]:
    """(tokens, special tokens) of a saved vocabulary, checked field by field: distinct strings,
    at most MAX_TOKENS, starting with its special tokens, which include xxunk and xxpad (a
    SchemaError names the field otherwise)."""
    document = expect_dict(document, field)
    if document.get("format") != _FORMAT:
        raise fail(f"{field}.format", f"must be {_FORMAT!r}: this is not a briskml vocabulary "
                   f"(save one with Vocab.save); got {document.get('format')!r}")
    version = expect_int(document.get("format_version", _VERSION), f"{field}.format_version", 1)
    if version > _VERSION:
        raise fail(f"{field}.format_version", f"is {version}, from a newer briskml (this one "
                   f"reads up to {_VERSION}); upgrade briskml")
    tokens = _distinct_strings(expect_key(document, "tokens", field), f"{field}.tokens",
                               MAX_TOKENS)
    specials = _distinct_strings(expect_key(document, "special_tokens", field),
                                 f"{field}.special_tokens", MAX_SPECIAL_TOKENS)
    for needed in (UNK, PAD):
        if needed not in specials:
            raise fail(f"{field}.special_tokens", f"must include {needed!r} (unknown words and "
                       f"padding); got {specials[:10]}")
    for position, special in enumerate(specials):
        if position >= len(tokens) or tokens[position] != special:
            found = tokens[position] if position < len(tokens) else "nothing"
            raise fail(f"{field}.tokens[{position}]", f"must be the special token {special!r} "
                       f"(a vocabulary starts with its special tokens); got {found!r}")
    return tokens, specials


def _distinct_strings(value: Any, field: str, max_len: int) -> list[str]:
    values = expect_list(value, field, max_len=max_len)
    seen: dict[str, int] = {}
    for position, token in enumerate(values):
        if not isinstance(token, str):
            expect_str(token, f"{field}[{position}]")
        first = seen.setdefault(token, position)
        if first != position:
            raise fail(f"{field}[{position}]", f"repeats {token[:40]!r}, already at index "
                       f"{first}; the tokens must be distinct")
    return values


def _check_tokens(tokens: list[str], special_tokens: tuple[str, ...]) -> None:
    if tuple(tokens[:len(special_tokens)]) != special_tokens:
        raise ConfigError(f"A vocab must start with its special tokens {list(special_tokens)}; "
                          f"got {tokens[:len(special_tokens)]}.")
    if UNK not in special_tokens or PAD not in special_tokens:
        raise ConfigError(f"The special tokens must include {UNK!r} and {PAD!r}.")
    if len(set(tokens)) != len(tokens):
        raise ConfigError("A vocab's tokens must be distinct; found duplicates.")


def _check_limits(max_vocab: int, min_freq: int, num_special: int) -> None:
    if not is_int(max_vocab) or max_vocab < num_special:
        raise ConfigError(f"max_vocab must be an integer >= {num_special} (the special tokens); "
                          f"got {max_vocab!r}.")
    check_positive_int(min_freq, "min_freq", "Words seen fewer times become xxunk.")
