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
import binascii
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

import briskml.text.tokenizer.rules as rule_module
from briskml.encoding import (
    check_encoding_errors,
    first_invalid_utf8,
    invalid_utf8_error,
    replaced_message,
)
from briskml.errors import ConfigError, FileFormatError
from briskml.schema import expect_dict, expect_key, expect_list, expect_str, fail, in_file
from briskml.text.tokenizer.corpus import (
    CorpusBuilder,
    TokenizedCorpus,
    file_cache_key,
    load_cached_or_none,
    text_cache_key,
)
from briskml.text.tokenizer.parallel import resolve_workers
from briskml.text.tokenizer.rules import SPECIAL_TOKENS, Rule, rule_name
from briskml.text.tokenizer.texts import (
    TextReport,
    clean_text,
    clean_texts,
    join_fields,
)

# Documents per task sent to a worker: big enough to amortise the hand-over, small enough to
# balance two workers on a few thousand documents.
BATCH_SIZE = 500
# Where the built-in rules lived up to briskml 0.1.0: files of that version name them there.
RULES_MODULE_0_1_0 = "briskml.text.rules"
# Most rules a saved tokenizer may name (the built-in ones are three).
MAX_RULES = 100
_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")

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
    def check_options(cls, options: dict[str, Any], field: str) -> dict[str, Any]:
        """`options()` as read from a file, checked option by option (a SchemaError names the
        field, `field` being where they sit) and in today's form (0.1.0 rule names updated)."""
        raise NotImplementedError

    @classmethod
    def check_state(cls, state: dict[str, bytes], field: str) -> None:
        """Refuse a saved state this kind cannot use (a SchemaError names the field); rule-based
        tokenizers need none."""

    @classmethod
    def from_options(cls, options: dict[str, Any], state: dict[str, bytes],
                     source: str) -> BaseTokenizer:
        """Rebuild a tokenizer of this kind from `options()` and `state()` (`source` names the
        file in errors)."""
        raise NotImplementedError

    def _run(self, batches: Iterator[list[str]], n_workers: int, builder: CorpusBuilder,
             files: bool, encoding_errors: str = "strict") -> None:
        raise NotImplementedError

    # ----- inputs --------------------------------------------------------------------------------
    def tokenize(self, texts: Iterable[Any], n_workers: int | None = None,
                 cache: bool | None = None, checked: bool = False) -> TokenizedCorpus:
        """Tokenise documents on every core (order kept); reuse the cached result if any.

        `texts` may be a list, a pandas Series or any iterable (read lazily in batches; an
        iterable that is not a sequence is not cached). Values are read as texts by one rule
        (`briskml.text.tokenizer.texts`): missing ones (None, NaN) and empty ones are empty
        texts, other types their str(), in one BriskWarning that counts them (naming a Series'
        column). `checked=True` says the texts come from `clean_texts` or `join_fields`, which
        already warned.

        Example:
            >>> corpus = Tokenizer().tokenize(df["text"])
            >>> corpus[0][:5]
            ['xxbos', 'xxmaj', 'story', 'of', 'a']
        """
        if isinstance(texts, str):
            raise ConfigError("tokenize expects a collection of texts; for one text call the "
                              "tokenizer itself: tokenizer(text).")
        column = texts.name if isinstance(texts, pd.Series) and texts.name is not None else None
        column = None if column is None else str(column)
        if not _is_sequence(texts):
            report = None if checked else TextReport()
            stream = (clean_text(text) if report is None else report.read_value(text, column)
                      for text in texts)
            return self._tokenize_stream(stream, None, n_workers, report)
        values = texts.tolist() if hasattr(texts, "tolist") else texts
        if checked:
            text_list = [clean_text(text) for text in values]
        else:
            text_list = clean_texts(values, column)
        use_cache = self.cache if cache is None else cache
        key = text_cache_key(self.settings, text_list) if use_cache else None
        return self._tokenize_stream(iter(text_list), key, n_workers)

    def tokenize_df(self, df: pd.DataFrame, text_cols: str | Sequence[str],
                    mark_fields: bool | None = None, n_workers: int | None = None,
                    cache: bool | None = None) -> TokenizedCorpus:
        """Tokenise the text columns of a DataFrame (several columns: `xxfld n` before each)."""
        return self.tokenize(join_fields(df, text_cols, mark_fields), n_workers, cache,
                             checked=True)

    def tokenize_csv(self, path: str | os.PathLike, text_cols: str | Sequence[str],
                     chunksize: int = 10_000, mark_fields: bool | None = None,
                     n_workers: int | None = None, cache: bool | None = None,
                     encoding_errors: str = "strict", **read_csv_kwargs: Any) -> TokenizedCorpus:
        """Tokenise text columns of a CSV read `chunksize` rows at a time (bounded memory).

        Bytes that are not UTF-8 are refused, naming the byte offset, unless
        `encoding_errors="replace"` (then read as U+FFFD, with a warning).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No such CSV file: '{path}'.")
        check_encoding_errors(encoding_errors)
        columns = [text_cols] if isinstance(text_cols, str) else list(text_cols)
        use_cache = self.cache if cache is None else cache
        extra = {"csv_columns": columns, "mark_fields": mark_fields, "read_csv": read_csv_kwargs,
                 "encoding_errors": encoding_errors}
        key = file_cache_key(self.settings, [path], repr(extra)) if use_cache else None
        corpus = load_cached_or_none(key)
        if corpus is not None:
            return corpus
        replaced = encoding_errors == "replace" and first_invalid_utf8(path) is not None
        frames = pd.read_csv(path, usecols=columns, chunksize=chunksize, dtype=str,
                             encoding_errors=encoding_errors, **read_csv_kwargs)
        report = TextReport()
        texts = chain.from_iterable(join_fields(frame, columns, mark_fields, report)
                                    for frame in _utf8_chunks(frames, path))
        notes = [replaced_message([path])] if replaced else []
        return self._tokenize_stream(texts, key, n_workers, report, notes)

    def tokenize_files(self, paths: Sequence[str | os.PathLike], n_workers: int | None = None,
                       cache: bool | None = None, encoding_errors: str = "strict"
                       ) -> TokenizedCorpus:
        """Tokenise text files, read in the workers. A file that is not UTF-8 is refused, naming
        the byte offset, unless `encoding_errors="replace"` (its bad bytes become U+FFFD and a
        warning names it)."""
        check_encoding_errors(encoding_errors)
        paths = [Path(path) for path in paths]
        use_cache = self.cache if cache is None else cache
        extra = {"encoding_errors": encoding_errors}
        key = file_cache_key(self.settings, paths, extra) if use_cache else None
        corpus = load_cached_or_none(key)
        if corpus is not None:
            return corpus
        builder = CorpusBuilder(key, files=True)
        batches = _batches((str(path) for path in paths), BATCH_SIZE)
        try:
            self._run(batches, resolve_workers(self._workers(n_workers)), builder, files=True,
                      encoding_errors=encoding_errors)
        except BaseException:
            builder.abandon()
            raise
        message = replaced_message([paths[i] for i in builder.bad_files])
        return builder.finish([message] if message else [])

    # ----- the common path ---------------------------------------------------------------------
    def _tokenize_stream(self, texts: Iterator[str], key: str | None, n_workers: int | None,
                         report: TextReport | None = None,
                         notes: Sequence[str] = ()) -> TokenizedCorpus:
        """Tokenise a stream of texts; `report` counts them as they are read (its warning, and
        `notes`, are given once the stream is done, and kept in the cache entry)."""
        corpus = load_cached_or_none(key)
        if corpus is not None:
            return corpus
        builder = CorpusBuilder(key, report=report)
        try:
            self._run(_batches(texts, BATCH_SIZE), resolve_workers(self._workers(n_workers)),
                      builder, files=False)
        except BaseException:
            builder.abandon()
            raise
        return builder.finish(notes)

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


def tokenizer_from_json(document: Any, source: str = "the file",
                        field: str = "tokenizer") -> BaseTokenizer:
    """Rebuild what `BaseTokenizer.to_json` wrote (files of briskml 0.1.0 included), after
    checking it field by field (a SchemaError names the field, `field` being where it sits).

    Example:
        >>> tokenizer = tokenizer_from_json(learn.tokenizer.to_json())
    """
    document = check_tokenizer_json(document, field)
    options = document["settings"]
    state = {}
    for name, text in document["state"].items():
        try:
            state[name] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise fail(f"{field}.state.{name}", "is not valid base64 text") from None
    cls = _KINDS[options["kind"]]
    cls.check_state(state, f"{field}.state")
    return cls.from_options(options, state, source)


def check_tokenizer_json(document: Any, field: str = "tokenizer") -> dict[str, Any]:
    """A saved tokenizer checked field by field (a SchemaError names the field) and in today's
    shape: built-in rules named where they live now (briskml 0.1.0 named them under
    briskml.text.rules). The input is left unchanged."""
    document = expect_dict(document, field)
    settings = expect_dict(expect_key(document, "settings", field), f"{field}.settings")
    kind = expect_str(expect_key(settings, "kind", f"{field}.settings"), f"{field}.settings.kind",
                      tuple(tokenizer_kinds()))
    options = _KINDS[kind].check_options(settings, f"{field}.settings")
    state = expect_dict(document.get("state", {}), f"{field}.state")
    for name, text in state.items():
        expect_str(text, f"{field}.state.{name}")
    return {"settings": options, "state": dict(state)}


def upgrade_tokenizer_json(document: Any, source: str = "the file") -> dict[str, Any]:
    """`check_tokenizer_json` under its older name; `source` names the file in the error."""
    with in_file(source.strip("'"), "tokenizer"):
        return check_tokenizer_json(document)


def check_options_known(options: dict[str, Any], known: Sequence[str], field: str) -> None:
    """Refuse an option a tokenizer kind does not have (SchemaError naming it)."""
    for name in options:
        if name not in known:
            raise fail(f"{field}.{name}", f"is not an option of this tokenizer kind; its "
                       f"options are {list(known)}")


def check_lang(value: Any, field: str) -> str:
    """A language code such as 'en' or 'zh-hans' (SchemaError naming `field` otherwise)."""
    lang = expect_str(value, field)
    if not _LANG.fullmatch(lang):
        raise fail(field, f"must be a language code such as 'en'; got {lang[:40]!r}")
    return lang


def check_rule_names(value: Any, field: str) -> list[str]:
    """Saved rule names: a list of strings, 0.1.0's built-in names brought up to date."""
    names = expect_list(value, field, max_len=MAX_RULES)
    return [current_rule_name(expect_str(name, f"{field}[{i}]")) for i, name in enumerate(names)]


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
        raise FileFormatError(
            f"{source} was tokenised with custom rule(s) {unknown[:5]}, which a file names but "
            "cannot hold; pass the same tokenizer where you load it: "
            "TextData.load(path, tokenizer=Tokenizer(rules=[...])).")
    return [known[name] for name in current]


# ----- helpers ---------------------------------------------------------------------------------
def _utf8_chunks(frames: Any, path: Path) -> Iterator[pd.DataFrame]:
    """The chunks of pandas' CSV reader, which is closed at the end; a UnicodeDecodeError
    becomes the error naming the byte offset (pandas counts from its buffer, not the file)."""
    try:
        with frames:
            yield from frames
    except UnicodeDecodeError as error:
        found = first_invalid_utf8(path)
        if found is None:
            raise
        raise invalid_utf8_error(str(path), *found) from error


def _is_sequence(texts: Any) -> bool:
    return isinstance(texts, (Sequence, pd.Series, pd.Index, np.ndarray))


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
