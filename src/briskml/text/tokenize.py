"""Tokenizers: the lessons' word tokenizer (spaCy + special tokens), parallel and cached.

`Tokenizer.tokenize` returns a `TokenizedCorpus`. Work is spread over processes in batches of
documents (order preserved), input is read lazily so memory stays bounded, and the result is cached
on disk under a key made of the content and the settings, so the same corpus is tokenised once.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from importlib.metadata import version
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.text.corpus import (
    CorpusBuilder,
    TokenizedCorpus,
    file_cache_key,
    load_cached_or_none,
    text_cache_key,
)
from briskml.text.engine import WordEngine
from briskml.text.parallel import ordered_map, resolve_workers
from briskml.text.rules import (
    DEFAULT_RULES,
    FLD,
    SPECIAL_TOKENS,
    Rule,
    decode_tokens,
    rule_name,
    split_rules,
)
from briskml.text.workers import init_worker, run_files, run_texts, set_process_engine

# Bump when a change to the code changes the tokens, so old cache entries are not reused.
TOKENIZER_VERSION = 1
# Documents per task sent to a worker: big enough to amortise the hand-over, small enough to
# balance two workers on a few thousand documents.
BATCH_SIZE = 500


class BaseTokenizer:
    """What every briskml tokenizer shares: data-frame/CSV/file input, caching, warnings."""

    kind = "base"
    special_tokens: tuple[str, ...] = SPECIAL_TOKENS

    def __init__(self, n_workers: int | None = None, cache: bool = True) -> None:
        self.n_workers = resolve_workers(n_workers) if n_workers is not None else None
        self.cache = cache

    @property
    def settings(self) -> dict[str, Any]:
        """Everything the tokens depend on, JSON-able (part of every cache key)."""
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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description that `tokenizer_from_dict` turns back into this tokenizer."""
        raise NotImplementedError

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Arrays to save beside `to_dict()` (a trained subword model)."""
        return {}

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
        text_list = [_clean_text(text) for text in values]
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


class Tokenizer(BaseTokenizer):
    """The lessons' word tokenizer: pre-rules, spaCy's rule-based tokenizer, special tokens.

    Produces xxbos at each document start, xxmaj/xxup before capitalised/all-caps words (which are
    lower-cased), xxrep n c for a character repeated 3+ times and xxwrep n w for a word repeated 3+
    times. `tokenize` uses every core and caches its result ($BRISKML_CACHE or ~/.cache/briskml).

    Example:
        >>> tokenizer = Tokenizer()
        >>> tokenizer("I LOVED it!!!")
        ['xxbos', 'xxmaj', 'i', 'xxup', 'loved', 'it', 'xxrep', '3', '!']
        >>> tokenizer.decode(tokenizer("I LOVED it!!!"))
        'I LOVED it!!!'
        >>> corpus = tokenizer.tokenize(df["text"])
    """

    kind = "word"

    def __init__(self, lang: str = "en", rules: Sequence[Rule] | None = None,
                 add_bos: bool = True, add_eos: bool = False, n_workers: int | None = None,
                 cache: bool = True) -> None:
        super().__init__(n_workers, cache)
        if not isinstance(lang, str) or not lang:
            raise ConfigError(f"lang must be a spaCy language code such as 'en'; got {lang!r}.")
        self.lang = lang
        self.rules = tuple(DEFAULT_RULES if rules is None else rules)
        for rule in self.rules:
            if not callable(rule):
                raise ConfigError(f"Each rule must be a function str -> str; got {rule!r}.")
        self.add_bos, self.add_eos = add_bos, add_eos
        self._engine: WordEngine | None = None

    @property
    def engine(self) -> WordEngine:
        """This process's engine (built on first use; forked workers inherit it)."""
        if self._engine is None:
            document_rules, word_rules = split_rules(self.rules)
            self._engine = WordEngine(self.lang, document_rules, word_rules, self.add_bos,
                                      self.add_eos)
        return self._engine

    @property
    def settings(self) -> dict[str, Any]:
        """Everything the tokens depend on, JSON-able (part of every cache key)."""
        # The installed version, read without importing spaCy (seconds) so cache hits stay fast.
        return {"kind": self.kind, "version": TOKENIZER_VERSION, "spacy": version("spacy"),
                **self._worker_settings()}

    def _worker_settings(self) -> dict[str, Any]:
        return {"lang": self.lang, "add_bos": self.add_bos, "add_eos": self.add_eos,
                "rules": [rule_name(rule) for rule in self.rules]}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description that `tokenizer_from_dict` turns back into this tokenizer."""
        return {"kind": self.kind, **self._worker_settings()}

    def __call__(self, text: str) -> list[str]:
        """The tokens of one text (in this process)."""
        self.engine.start_session()
        return self.engine.tokenize_one(_clean_text(text))

    def decode(self, tokens: Sequence[str]) -> str:
        """Readable text from tokens (special tokens undone, capitals restored)."""
        return decode_tokens(tokens)

    def _run(self, batches: Iterator[list[str]], n_workers: int, builder: CorpusBuilder,
             files: bool) -> None:
        first = list(islice(batches, 2))
        batches = chain(first, batches)
        work = run_files if files else run_texts
        set_process_engine(self.engine)
        if n_workers <= 1 or len(first) < 2:  # one batch is not worth starting processes
            self.engine.start_session()
            for batch in batches:
                builder.add(work(batch))
            return
        initargs = (self._worker_settings(), self.rules)
        for result in ordered_map(work, batches, n_workers, init_worker, initargs):
            builder.add(result)

    def __repr__(self) -> str:
        return f"Tokenizer(lang={self.lang!r}, rules={len(self.rules)}, add_eos={self.add_eos})"


def tokenizer_from_dict(document: dict[str, Any], arrays: dict[str, np.ndarray] | None = None,
                        source: str = "the file") -> BaseTokenizer:
    """Rebuild a tokenizer from `to_dict()` (and `state_arrays()` for subword models)."""
    if document.get("kind") == "sentencepiece":
        from briskml.text.subword import SentencePieceTokenizer

        return SentencePieceTokenizer.from_dict(document, arrays or {}, source)
    if document.get("kind") != Tokenizer.kind:
        raise ConfigError(f"{source} names an unknown tokenizer kind {document.get('kind')!r}.")
    return Tokenizer(document["lang"], rules_by_name(document["rules"], source),
                     document["add_bos"], document["add_eos"])


def rules_by_name(names: Sequence[str], source: str) -> list[Rule]:
    """The built-in rules with these names (saved settings name their rules)."""
    from briskml.text import rules as rule_module

    known = {rule_name(rule): rule for rule in vars(rule_module).values()
             if callable(rule) and getattr(rule, "__module__", "") == rule_module.__name__}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"{source} was tokenised with custom rule(s) {unknown}; pass the same "
                          "tokenizer: TextData.load(path, tokenizer=Tokenizer(rules=[...])).")
    return [known[name] for name in names]


# ----- helpers ---------------------------------------------------------------------------------
def join_fields(df: pd.DataFrame, text_cols: str | Sequence[str],
                mark_fields: bool | None = None) -> list[str]:
    """One text per row; with several columns each field is preceded by `xxfld n` (1-based)."""
    columns = [text_cols] if isinstance(text_cols, str) else list(text_cols)
    if not columns:
        raise ConfigError("text_cols is empty; name at least one text column.")
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise DataError(f"Text column(s) {missing} not found; the DataFrame has columns "
                        f"{list(df.columns)}. Pass text_cols=<existing column(s)>.")
    mark = len(columns) > 1 if mark_fields is None else mark_fields
    fields = [[_clean_text(text) for text in df[column].tolist()] for column in columns]
    if len(fields) == 1 and not mark:
        return fields[0]
    prefixes = [f"{FLD} {number} " if mark else "" for number in range(1, len(fields) + 1)]
    return [" ".join(prefix + text for prefix, text in zip(prefixes, row, strict=True))
            for row in zip(*fields, strict=True)]


_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean_text(text: Any) -> str:
    if isinstance(text, str):
        if text.isascii():
            return text
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates (e.g. from surrogateescape) become U+FFFD
            return _SURROGATES.sub("\ufffd", text)
        return text
    if text is None or (isinstance(text, float) and math.isnan(text)) or text is pd.NA:
        return ""
    return str(text)


def _clean_texts(texts: Iterable[Any]) -> Iterator[str]:
    for text in texts:
        yield _clean_text(text)


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
