"""Checks for the fields of a tabular pipeline's JSON, on top of briskml.schema: column names,
numbers per column, categories and classes. Each raises a SchemaError naming the field's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from briskml.schema import (
    expect_dict,
    expect_distinct,
    expect_list,
    expect_number,
    expect_str,
    fail,
)


def expect_names(value: Any, field: str) -> list[str]:
    """`value` as a list of distinct column names (strings)."""
    names = expect_list(value, field)
    for position, name in enumerate(names):
        expect_str(name, f"{field}[{position}]")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise fail(field, f"names {duplicates} more than once")
    return list(names)


def expect_subset(names: Sequence[str], known: Any, field: str, known_field: str) -> None:
    """Every one of `names` (listed in `field`) is one of `known` (listed in `known_field`)."""
    for position, name in enumerate(names):
        if name not in known:
            raise fail(f"{field}[{position}]", f"names {name!r}, which is not in {known_field} "
                       f"({list(known)[:10]})")


def numbers_by_column(value: Any, field: str, positive: bool = False) -> dict[str, float]:
    """`value` as {column: finite number} (each > 0 when `positive`)."""
    numbers = expect_dict(value, field)
    return {name: expect_number(number, f"{field}.{name}", positive=positive)
            for name, number in numbers.items()}


def expect_labels(value: Any, field: str, min_len: int = 0) -> list[Any]:
    """`value` as a list of distinct JSON scalars (categories, classes), at least `min_len`."""
    return expect_distinct(value, field, "label", min_len)


def expect_distinct_roles(names: dict[str, list[str]], field: str) -> None:
    """No column is both an input and a target, or both categorical and continuous."""
    seen: dict[str, str] = {}
    for key in ("cat_names", "cont_names", "y_names"):
        for position, name in enumerate(names[key]):
            if name in seen:
                raise fail(f"{field}.{key}[{position}]", f"names {name!r}, which is in "
                           f"{field}.{seen[name]} too")
            seen[name] = key


def expect_classes(value: Any, y_kind: str, y_names: list[str], field: str) -> list[Any] | None:
    """The classes of a "category" target (at least 2, distinct); null for other targets."""
    if not y_names:
        raise fail(f"{field}.y_names", "must name at least one target column")
    if y_kind != "category":
        if value is not None:
            raise fail(f"{field}.classes", f"must be null for a {y_kind!r} target")
        return None
    if len(y_names) != 1:
        raise fail(f"{field}.y_names", f"must name one column for a 'category' target; got "
                   f"{y_names}")
    return expect_labels(value, f"{field}.classes", min_len=2)
