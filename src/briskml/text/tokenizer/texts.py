"""Values read as texts: the one rule every text path follows (training data, `tokenize`,
`predict` on a text, a list, a Series or a DataFrame, `add_test`, corpora).

- A missing value (None, NaN, pd.NA, NaT) is an empty text; so is an empty string.
- A value that is not a string (a number, a bool ...) is read as its `str()`.
- Lone surrogates (left by `surrogateescape`, not encodable as UTF-8) become U+FFFD.

Nothing is changed silently: a `TextReport` counts what it read that way, per column, and says it
in one BriskWarning.

Example:
    >>> clean_texts(["Fine.", None, 42], column="text")   # ['Fine.', '', '42'] and one warning
    >>> join_fields(df, ["title", "body"])                  # 'xxfld 1 ... xxfld 2 ...' per row
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from briskml.errors import ConfigError, warn
from briskml.frames import check_columns
from briskml.text.tokenizer.rules import FLD

EMPTY_TEXTS = "each is read as empty text"
_SURROGATES = re.compile("[\ud800-\udfff]")
_EXAMPLES = 3


def is_missing(value: Any) -> bool:
    """Whether a value stands for a missing text: None, NaN, pd.NA or NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def clean_text(text: Any) -> str:
    """One value as the tokenizer reads it (the module's rule), without counting it."""
    if isinstance(text, str):
        return text if text.isascii() else _valid_unicode(text)
    return "" if is_missing(text) else _valid_unicode(str(text))


def _valid_unicode(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


@dataclass
class _Counts:
    total: int = 0
    missing: int = 0
    empty: int = 0
    non_strings: int = 0
    surrogates: int = 0
    examples: list[str] = field(default_factory=list)


class TextReport:
    """Reads values as texts (the module's rule), counting per column what it read as an empty
    text, converted from another type or repaired; `warn()` says it in one BriskWarning.

    Example:
        >>> report = TextReport()
        >>> texts = report.read(df["text"], "text")
        >>> report.warn()
    """

    def __init__(self) -> None:
        self.counts: dict[str | None, _Counts] = {}

    def read(self, values: Iterable[Any], column: str | None = None) -> list[str]:
        """Every value as a text; `column` names where they come from in the warning."""
        return [self.read_value(value, column) for value in values]

    def read_value(self, value: Any, column: str | None = None) -> str:
        """One value as a text, counted under `column`."""
        counts = self.counts.get(column)
        if counts is None:
            counts = self.counts[column] = _Counts()
        counts.total += 1
        if isinstance(value, str):
            text = value
        elif is_missing(value):
            counts.missing += 1
            return ""
        else:
            counts.non_strings += 1
            if len(counts.examples) < _EXAMPLES:
                counts.examples.append(_shown(value))
            text = str(value)
        if not text.isascii():
            repaired = _valid_unicode(text)
            counts.surrogates += int(repaired is not text)
            text = repaired
        if not text or text.isspace():
            counts.empty += 1
        return text

    def message(self, outcome: str = EMPTY_TEXTS) -> str | None:
        """The warning's text (None when every value was a non-empty, valid string); `outcome`
        says what became of the missing and empty ones."""
        parts = [_describe(column, counts, outcome) for column, counts in self.counts.items()]
        parts = [part for part in parts if part]
        return " ".join(parts) if parts else None

    def warn(self, outcome: str = EMPTY_TEXTS) -> None:
        """One BriskWarning with the counts, when there is anything to say."""
        message = self.message(outcome)
        if message is not None:
            warn(message)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _describe(column: str | None, counts: _Counts, outcome: str) -> str:
    where = f"Column {column!r}: " if column is not None else ""
    sentences = []
    if counts.missing or counts.empty:
        sentences.append(
            f"{counts.missing + counts.empty} of {counts.total} texts are missing or empty "
            f"({counts.missing} missing values (None/NaN), {counts.empty} empty or blank "
            f"strings); {outcome}. Drop those rows first if they carry no information.")
    if counts.non_strings:
        sentences.append(
            f"{counts.non_strings} of {counts.total} values are not strings (e.g. "
            f"{', '.join(counts.examples)}) and are read as their text; convert the column "
            "yourself (.astype(str)) if that is what they mean, or fix those rows.")
    if counts.surrogates:
        sentences.append(f"{counts.surrogates} texts hold lone surrogates (not valid Unicode); "
                         "they are read as U+FFFD.")
    return where + " ".join(sentences) if sentences else ""


def clean_texts(values: Iterable[Any], column: str | None = None,
                outcome: str = EMPTY_TEXTS) -> list[str]:
    """Values read as texts by the module's rule, with one BriskWarning counting the missing,
    empty and non-string ones (naming `column` when given).

    Example:
        >>> clean_texts(pd.Series(["Fine.", None]), column="text")   # ['Fine.', ''], a warning
    """
    report = TextReport()
    texts = report.read(values, column)
    report.warn(outcome)
    return texts


def join_fields(df: pd.DataFrame, text_cols: str | Sequence[str],
                mark_fields: bool | None = None, report: TextReport | None = None) -> list[str]:
    """One text per row; with several columns each field is preceded by `xxfld n` (1-based).

    Values are read by the module's rule; the counts go to `report` when given (the caller
    warns), else into one BriskWarning naming the columns.
    """
    columns = [text_cols] if isinstance(text_cols, str) else list(text_cols)
    if not columns:
        raise ConfigError("text_cols is empty; name at least one text column.")
    check_columns(df, {"text_cols": columns}, distinct=False)
    reading = TextReport() if report is None else report
    mark = len(columns) > 1 if mark_fields is None else mark_fields
    fields = [reading.read(df[column].tolist(), str(column)) for column in columns]
    if report is None:
        reading.warn()
    if len(fields) == 1 and not mark:
        return fields[0]
    prefixes = [f"{FLD} {number} " if mark else "" for number in range(1, len(fields) + 1)]
    return [" ".join(prefix + text for prefix, text in zip(prefixes, row, strict=True))
            for row in zip(*fields, strict=True)]
