"""What every tokenizer shares: its inputs (texts, DataFrames, CSV files, text files), the token
cache, the registry of tokenizer kinds, and the one way a tokenizer is saved.

A tokenizer is saved as JSON (`to_json`): {"settings": {"kind": ..., its options}, "state":
{name: base64 text}}, the state being what training produced (a sentencepiece model); the word
tokenizer has none. `tokenizer_from_json` rebuilds it through the class registered for its kind.
Every kind (`Tokenizer`, `SentencePieceTokenizer`) subclasses `BaseTokenizer` here and registers
itself with `register_tokenizer`; the package `briskml.text.tokenizer` imports them all, so the
registry is complete whenever this module has been imported.

Example:
    >>> document = Tokenizer().to_json()
    >>> tokenizer_from_json(document).options() == document["settings"]
    True
"""

from __future__ import annotations

import base64
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

import briskml.text.tokenizer.rules as rule_module
from briskml.errors import BriskWarning, ConfigError, FileFormatError
from briskml.frames import check_columns
from briskml.text.tokenizer.corpus import (
    CorpusBuilder,
    TokenizedCorpus,
    file_cache_key,
    load_cached_or_none,
    text_cache_key,
)
from briskml.text.tokenizer.parallel import resolve_workers
from briskml.text.tokenizer.rules import FLD, SPECIAL_TOKENS, Rule, rule_name

# Documents per task sent to a worker: big enough to amortise the hand-over, small enough to
# balance two workers on a few thousand documents.
BATCH_SIZE = 500
# Where the built-in rules lived up to briskml 0.1.0: files of that version name them there.
RULES_MODULE_0_1_0 = "briskml.text.rules"

TokenizerClass = TypeVar("TokenizerClass", bound="type[BaseTokenizer]")
_KINDS: dict[str, type[BaseTokenizer]] = {}


class BaseTokenizer:
    """What every briskml tokenizer shares: data-frame/CSV/file input, caching, saving as JSON."""

    kind: ClassVar[str] = "base"
    special_tokens: tuple[str, ...] = SPECIAL_TOKENS

    def __init__(self, n_workers: int | None = None, cache: bool = True) -> None:
        self.n_workers = resolve_workers(n_workers) if n_workers is not None else None
        self.cache = cache

    @property
    def settings(self) -> dict[str, Any]:
        """Everything the tokens depend on, JSON-able (part of every cache key)."""
        raise NotImplementedError

    def __call__(self, text: str) -> list[str]:
        """The tokens of one text (in this process)."""
        raise NotImplementedError

    def decode(self, tokens: Sequence[str]) -> str:
        """Readable text from tokens."""
        raise NotImplementedError

    @property
    def is_fitted(self) -> bool:
        """Whether the tokenizer is ready (subword models must first be trained)."""
        return True

    def prepare(self, train_texts: Iterable[str]) -> None:
        """Get ready to tokenise a corpus whose training texts are given (trains subword models)."""

    # ----- saving --------------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """The kind and the options this tokenizer was built with, JSON-able: what `to_json`
        stores as "settings" (two tokenizers with the same options split text the same way)."""
        raise NotImplementedError

    def state(self) -> dict[str, bytes]:
        """What training produced (a subword model), by name; empty for rule-based tokenizers."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """The tokenizer as JSON: its options and its trained state (base64); see the module doc."""
        state = {name: base64.b64encode(data).decode("ascii")
                 for name, data in self.state().items()}
        return {"settings": self.options(), "state": state}

    @classmethod
    def from_options(cls, options: dict[str, Any], state: dict[str, bytes],
                     source: str) -> BaseTokenizer:
        """Rebuild a tokenizer of this kind from `options()` and `state()` (`source` names the
        file in errors)."""
        raise NotImplementedError

    def _run(self, batches: Iterator[list[str]], n_workers: int, builder: CorpusBuilder,
             files: bool) -> None:
        raise NotImplementedError

    # ----- inputs --------------------------------------------------------------------------------
    def tokenize(self, texts: Iterable[str], n_workers: int | None = None,
                 cache: bool | None = None) -> TokenizedCorpus:
        """Tokenise documents on every core (order kept); reuse the cached result if any.

        `texts` may be a list, a pandas Series or any iterable (read lazily in batches; an
        iterable that is not a sequence is not cached). Missing texts (None, NaN) count as empty.

        Example:
            >>> corpus = Tokenizer().tokenize(df["text"])
            >>> corpus[0][:5]
            ['xxbos', 'xxmaj', 'story', 'of', 'a']
        """
        if isinstance(texts, str):
            raise ConfigError("tokenize expects a collection of texts; for one text call the "
                              "tokenizer itself: tokenizer(text).")
        if not _is_sequence(texts):
            return self._tokenize_stream(_clean_texts(texts), None, n_workers)
        values = texts.tolist() if hasattr(texts, "tolist") else texts
        text_list = [clean_text(text) for text in values]
        use_cache = self.cache if cache is None else cache
        key = text_cache_key(self.settings, text_list) if use_cache else None
        return self._tokenize_stream(iter(text_list), key, n_workers)

    def tokenize_df(self, df: pd.DataFrame, text_cols: str | Sequence[str],
                    mark_fields: bool | None = None, n_workers: int | None = None,
                    cache: bool | None = None) -> TokenizedCorpus:
        """Tokenise the text columns of a DataFrame (several columns: `xxfld n` before each)."""
        return self.tokenize(join_fields(df, text_cols, mark_fields), n_workers, cache)

    def tokenize_csv(self, path: str | os.PathLike, text_cols: str | Sequence[str],
                     chunksize: int = 10_000, mark_fields: bool | None = None,
                     n_workers: int | None = None, cache: bool | None = None,
                     **read_csv_kwargs: Any) -> TokenizedCorpus:
        """Tokenise text columns of a CSV read `chunksize` rows at a time (bounded memory)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No such CSV file: '{path}'.")
        columns = [text_cols] if isinstance(text_cols, str) else list(text_cols)
        frames = pd.read_csv(path, usecols=columns, chunksize=chunksize, dtype=str,
                             **read_csv_kwargs)
        texts = chain.from_iterable(join_fields(frame, columns, mark_fields) for frame in frames)
        use_cache = self.cache if cache is None else cache
        extra = {"csv_columns": columns, "mark_fields": mark_fields, "read_csv": read_csv_kwargs}
        key = file_cache_key(self.settings, [path], repr(extra)) if use_cache else None
        return self._tokenize_stream(texts, key, n_workers)

    def tokenize_files(self, paths: Sequence[str | os.PathLike], n_workers: int | None = None,
                       cache: bool | None = None) -> TokenizedCorpus:
        """Tokenise text files, read in the workers; bytes that are not UTF-8 become U+FFFD."""
        paths = [Path(path) for path in paths]
        use_cache = self.cache if cache is None else cache
        key = file_cache_key(self.settings, paths) if use_cache else None
        corpus = load_cached_or_none(key)
        if corpus is not None:
            return corpus
        builder = CorpusBuilder(key)
        batches = _batches((str(path) for path in paths), BATCH_SIZE)
        self._run(batches, resolve_workers(self._workers(n_workers)), builder, files=True)
        _warn_bad_files([paths[i] for i in builder.bad_files])
        return builder.finish()

    # ----- the common path ---------------------------------------------------------------------
    def _tokenize_stream(self, texts: Iterator[str], key: str | None,
                         n_workers: int | None) -> TokenizedCorpus:
        corpus = load_cached_or_none(key)
        if corpus is not None:
            return corpus
        builder = CorpusBuilder(key)
        self._run(_batches(texts, BATCH_SIZE), resolve_workers(self._workers(n_workers)),
                  builder, files=False)
        return builder.finish()

    def _workers(self, n_workers: int | None) -> int | None:
        return self.n_workers if n_workers is None else n_workers


# ----- the registry and the one serialisation -----------------------------------------------------
def register_tokenizer(cls: TokenizerClass) -> TokenizerClass:
    """Class decorator: `tokenizer_from_json` rebuilds tokenizers of `cls.kind` with `cls`."""
    _KINDS[cls.kind] = cls
    return cls


def tokenizer_kinds() -> list[str]:
    """The tokenizer kinds this briskml can rebuild."""
    return sorted(_KINDS)


def tokenizer_from_json(document: dict[str, Any], source: str = "the file") -> BaseTokenizer:
    """Rebuild what `BaseTokenizer.to_json` wrote (files of briskml 0.1.0 included).

    Example:
        >>> tokenizer = tokenizer_from_json(learn.tokenizer.to_json())
    """
    document = upgrade_tokenizer_json(document, source)
    options = document["settings"]
    cls = _KINDS.get(options.get("kind"))
    if cls is None:
        raise ConfigError(f"{source} names an unknown tokenizer kind {options.get('kind')!r}; "
                          f"this briskml knows {tokenizer_kinds()}.")
    try:
        state = {name: base64.b64decode(text, validate=True)
                 for name, text in document.get("state", {}).items()}
    except (ValueError, TypeError, AttributeError) as error:
        raise FileFormatError(f"{source} holds a damaged tokenizer state ({error}).") from error
    return cls.from_options(options, state, source)


def upgrade_tokenizer_json(document: Any, source: str = "the file") -> dict[str, Any]:
    """A saved tokenizer in today's shape: built-in rules named where they live now (briskml
    0.1.0 named them under briskml.text.rules). Idempotent; the input is left unchanged."""
    if not isinstance(document, dict) or not isinstance(document.get("settings"), dict):
        raise FileFormatError(f"{source} holds no tokenizer settings; export the model again.")
    options = dict(document["settings"])
    if "rules" in options:
        options["rules"] = [current_rule_name(name) for name in options["rules"]]
    return {**document, "settings": options}


def current_rule_name(name: str) -> str:
    """A saved rule name with the 0.1.0 module of the built-in rules replaced by today's."""
    old_prefix = RULES_MODULE_0_1_0 + "."
    if name.startswith(old_prefix):
        return f"{rule_module.__name__}.{name[len(old_prefix):]}"
    return name


def rules_by_name(names: Sequence[str], source: str) -> list[Rule]:
    """The built-in rules with these names (saved settings name their rules)."""
    known = {rule_name(rule): rule for rule in vars(rule_module).values()
             if callable(rule) and getattr(rule, "__module__", "") == rule_module.__name__}
    current = [current_rule_name(name) for name in names]
    unknown = [name for name in current if name not in known]
    if unknown:
        raise ConfigError(f"{source} was tokenised with custom rule(s) {unknown}; pass the same "
                          "tokenizer: TextData.load(path, tokenizer=Tokenizer(rules=[...])).")
    return [known[name] for name in current]


# ----- helpers ---------------------------------------------------------------------------------
def join_fields(df: pd.DataFrame, text_cols: str | Sequence[str],
                mark_fields: bool | None = None) -> list[str]:
    """One text per row; with several columns each field is preceded by `xxfld n` (1-based)."""
    columns = [text_cols] if isinstance(text_cols, str) else list(text_cols)
    if not columns:
        raise ConfigError("text_cols is empty; name at least one text column.")
    check_columns(df, {"text_cols": columns}, distinct=False)
    mark = len(columns) > 1 if mark_fields is None else mark_fields
    fields = [[clean_text(text) for text in df[column].tolist()] for column in columns]
    if len(fields) == 1 and not mark:
        return fields[0]
    prefixes = [f"{FLD} {number} " if mark else "" for number in range(1, len(fields) + 1)]
    return [" ".join(prefix + text for prefix, text in zip(prefixes, row, strict=True))
            for row in zip(*fields, strict=True)]


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: Any) -> str:
    """A text as the tokenizer reads it: missing values (None, NaN) as "", lone surrogates
    (e.g. from surrogateescape) as U+FFFD, anything else as its str()."""
    if isinstance(text, str):
        if text.isascii():
            return text
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATES.sub("\ufffd", text)
        return text
    if text is None or (isinstance(text, float) and math.isnan(text)) or text is pd.NA:
        return ""
    return str(text)


def _clean_texts(texts: Iterable[Any]) -> Iterator[str]:
    for text in texts:
        yield clean_text(text)


def _is_sequence(texts: Any) -> bool:
    return isinstance(texts, (Sequence, pd.Series, pd.Index, np.ndarray))


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _warn_bad_files(paths: list[Path]) -> None:
    if paths:
        shown = ", ".join(f"'{path}'" for path in paths[:5])
        more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
        warnings.warn(f"{len(paths)} file(s) are not valid UTF-8: {shown}{more}. Their bad bytes "
                      "were replaced by U+FFFD; re-encode them as UTF-8 to keep every character.",
                      BriskWarning, stacklevel=3)
