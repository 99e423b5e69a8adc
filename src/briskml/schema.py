"""Checks for the JSON inside briskml files: each names the field it refused.

A file's JSON is read before anything is built from it (a model, a pipeline, a vocabulary). These
functions check one value's type and range and raise `SchemaError`, whose message names the
field by its path in the document (`pipeline.procs[2].state.stds.age`); `in_file(source)` then
turns it, and any raw exception that slipped past the checks, into one `FileFormatError` that
names the file too. JSON numbers may be written as floats (`2.0`); an integer field accepts
those only when they are whole. `bool` is never accepted as a number.

Hand-written rather than a JSON-schema library: the checks also relate fields to each other and
to the tensors' shapes, and the messages must say how to fix the file.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from briskml.errors import BriskError, FileFormatError


class SchemaError(FileFormatError):
    """A field of a file's JSON has the wrong type, range or relation to another field."""


def fail(field: str, problem: str) -> SchemaError:
    """The error for `field`: raise what this returns."""
    return SchemaError(f"field '{field}' {problem}")


def shown(value: Any) -> str:
    """A short description of a JSON value for an error message: lists and objects by their
    size (never their repr, which a deeply nested document would make recurse)."""
    if isinstance(value, list):
        return f"a list of {len(value)} entries"
    if isinstance(value, dict):
        return f"an object with {len(value)} fields"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def expect_dict(value: Any, field: str) -> dict[str, Any]:
    """`value` as a dict with string keys."""
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise fail(field, f"must be a JSON object; got {shown(value)}")
    return value


def expect_key(document: dict[str, Any], key: str, field: str) -> Any:
    """`document[key]`, or a SchemaError naming `field.key` when it is missing."""
    path = f"{field}.{key}" if field else key
    if not isinstance(document, dict):
        raise fail(field or "(top level)", f"must be a JSON object; got {shown(document)}")
    if key not in document:
        raise fail(path, "is missing")
    return document[key]


def expect_list(value: Any, field: str, max_len: int | None = None) -> list[Any]:
    """`value` as a list (JSON array), at most `max_len` long when given."""
    if not isinstance(value, list):
        raise fail(field, f"must be a list; got {shown(value)}")
    if max_len is not None and len(value) > max_len:
        raise fail(field, f"has {len(value)} entries; at most {max_len} fit the model")
    return value


def expect_str(value: Any, field: str, choices: tuple[str, ...] | None = None) -> str:
    """`value` as a string, one of `choices` when given."""
    if not isinstance(value, str):
        raise fail(field, f"must be a string; got {shown(value)}")
    if choices is not None and value not in choices:
        raise fail(field, f"must be one of {list(choices)}; got {shown(value)}")
    return value


def expect_bool(value: Any, field: str) -> bool:
    """`value` as a bool (JSON true/false)."""
    if not isinstance(value, bool):
        raise fail(field, f"must be true or false; got {shown(value)}")
    return value


def expect_int(value: Any, field: str, minimum: int | None = None,
               maximum: int | None = None) -> int:
    """`value` as an int in [minimum, maximum]; a whole float such as 3.0 counts."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise fail(field, f"must be a whole number; got {shown(value)}")
    if minimum is not None and value < minimum:
        raise fail(field, f"must be at least {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise fail(field, f"must be at most {maximum}; got {value}")
    return value


def expect_number(value: Any, field: str, positive: bool = False,
                  minimum: float | None = None, maximum: float | None = None) -> float:
    """`value` as a finite float (> 0 when `positive`, within [minimum, maximum] when given)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise fail(field, f"must be a number; got {shown(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise fail(field, f"must be a finite number; got {value}")
    if positive and value <= 0:
        raise fail(field, f"must be greater than 0; got {value}")
    if minimum is not None and value < minimum:
        raise fail(field, f"must be at least {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise fail(field, f"must be at most {maximum}; got {value}")
    return value


def is_json_scalar(value: Any) -> bool:
    """True for a value JSON holds unchanged: a string, true/false, a whole number or a finite
    float (NumPy scalars count as their Python value)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, bool, int))


def expect_distinct(value: Any, field: str, what: str = "value", min_len: int = 0) -> list[Any]:
    """`value` as a list of distinct JSON scalars (ids, categories, classes), at least `min_len`
    long; the error names the first entry that is not one, or that repeats an earlier one (1,
    1.0 and true are the same value)."""
    values = expect_list(value, field)
    article = "an" if what[0] in "aeiou" else "a"
    for position, item in enumerate(values):
        if not is_json_scalar(item):
            raise fail(f"{field}[{position}]", f"must be {article} {what} (a string, true/false "
                                               f"or a finite number); got {shown(item)}")
    repeated = pd.Index(values, dtype=object).duplicated()
    if repeated.any():
        position = int(np.flatnonzero(repeated)[0])
        raise fail(f"{field}[{position}]", f"repeats the {what} {shown(values[position])}; each "
                                           f"{what} appears once")
    if len(values) < min_len:
        raise fail(field, f"has {len(values)} entries; at least {min_len} are needed")
    return values


def expect_optional(value: Any, field: str, check: Any, *args: Any, **kwargs: Any) -> Any:
    """None, or `check(value, field, ...)`."""
    return None if value is None else check(value, field, *args, **kwargs)


# What a damaged document can raise from code that reads it without a check of its own.
_RAW_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError,
               OverflowError, AssertionError)


@contextlib.contextmanager
def in_file(source: str, section: str, fix: str = "Export the model again.") -> Iterator[None]:
    """Turn a SchemaError, a BriskError or a raw error raised while reading `section` of the
    file `source` into one FileFormatError that names the file (and the field, when known)."""
    try:
        yield
    except SchemaError as error:
        raise FileFormatError(f"'{source}' is damaged or was edited: {error}. {fix}") from None
    except FileFormatError as error:
        if source in str(error):
            raise
        raise FileFormatError(f"'{source}': {error}") from None
    except BriskError as error:   # a config or pipeline refused a value read from the file
        raise FileFormatError(f"'{source}' is damaged or was edited: its {section} was refused "
                              f"({error}). {fix}") from None
    except _RAW_ERRORS as error:
        raise FileFormatError(f"'{source}' is damaged or was edited: its {section} could not "
                              f"be read ({type(error).__name__}: {error}). {fix}") from None
