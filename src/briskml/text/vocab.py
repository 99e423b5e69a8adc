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
from briskml.text.tokenizer.corpus import TokenizedCorpus
from briskml.text.tokenizer.rules import PAD, SPECIAL_TOKENS, UNK

_FORMAT = "briskml.vocab"
_VERSION = 1


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
    def from_dict(cls, document: dict[str, Any], source: str = "the vocab") -> Vocab:
        """Rebuild from `to_dict()`."""
        if document.get("format") != _FORMAT or document.get("format_version", 0) > _VERSION:
            raise FileFormatError(f"{source} is not a briskml vocabulary (format "
                                  f"{document.get('format')!r}); save one with Vocab.save.")
        return cls(document["tokens"], document["special_tokens"])

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON, atomically."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary written by `save`."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise FileFormatError(f"'{path}' is not a JSON vocabulary: {error}.") from error
        return cls.from_dict(document, f"'{path}'")

    def __repr__(self) -> str:
        preview = " ".join(self.tokens[len(self.special_tokens):][:8])
        return f"Vocab({len(self)} tokens: {preview} ...)"


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
