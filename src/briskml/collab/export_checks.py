"""A collab export's JSON, checked before anything is built from it.

`CollabPipeline.from_json` and the feature tables read their fields with these functions, which
check each value's type and range and raise `briskml.schema.SchemaError` naming the field by its
path (`pipeline.users[12]`); `check_fits_model` then relates the rebuilt pipeline to the model it
travels with: ids (plus the unknown code 0) against embedding rows, feature tables against the
hybrid's feature counts, and a finite y_range. `CollabLearner.check_export` reports either as a
FileFormatError naming the file.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from briskml.schema import (
    expect_dict,
    expect_distinct,
    expect_int,
    expect_key,
    expect_list,
    expect_number,
    expect_str,
    fail,
    shown,
)

if TYPE_CHECKING:
    from briskml.collab.features import FeatureTable
    from briskml.collab.pipeline import CollabPipeline


# ----- lists of ids and numbers -----------------------------------------------------------------
def ids_from_json(value: Any, field: str, what: str = "id") -> pd.Index:
    """A JSON list of distinct ids (strings or finite numbers) as a pandas Index; a SchemaError
    names the first entry that is not one, or that repeats an earlier one."""
    return pd.Index(expect_distinct(value, field, what))


def numbers_from_json(value: Any, field: str, length: int, whole: bool = False,
                      minimum: float | None = None, why: str = "") -> list[Any]:
    """A JSON list of `length` finite numbers (whole ones when `whole`, each at least `minimum`
    when given); a SchemaError names the first entry refused (`why` explains the length)."""
    values = expect_list(value, field)
    if len(values) != length:
        raise fail(field, f"has {len(values)} entries; expected {length}{why}")
    kinds = (int,) if whole else (int, float)
    if all(type(item) in kinds for item in values):   # the common case, checked in one pass
        with np.errstate(over="ignore"):
            array = np.array(values, dtype=np.float64) if values else np.zeros(0)
        if np.isfinite(array).all() and (minimum is None or (array >= minimum).all()) and (
                not whole or (np.abs(array) < 2.0 ** 62).all()):
            return values
    if whole:   # find and name the first entry refused; whole floats (3.0) become ints
        lowest = None if minimum is None else math.ceil(minimum)
        return [expect_int(item, f"{field}[{position}]", minimum=lowest, maximum=2 ** 62)
                for position, item in enumerate(values)]
    return [expect_number(item, f"{field}[{position}]", minimum=minimum)
            for position, item in enumerate(values)]


# ----- the pipeline's fields --------------------------------------------------------------------
def columns_from_json(value: Any, field: str) -> tuple[Any, Any, Any]:
    """The user, item and rating column names: three different strings (or whole numbers, for a
    frame whose columns are numbered)."""
    columns = expect_dict(value, field)
    names: list[Any] = []
    for role in ("user", "item", "rating"):
        name = expect_key(columns, role, field)
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise fail(f"{field}.{role}", f"must be a column name (a string); got {shown(name)}")
        if name in names:
            raise fail(f"{field}.{role}", f"repeats the column {name!r}; the user, item and "
                       "rating columns are three different columns")
        names.append(name)
    return names[0], names[1], names[2]


def titles_from_json(value: Any, field: str) -> pd.Series | None:
    """null, or {"ids": distinct ids, "titles": one string per id}."""
    if value is None:
        return None
    titles = expect_dict(value, field)
    ids = ids_from_json(expect_key(titles, "ids", field), f"{field}.ids")
    texts = expect_list(expect_key(titles, "titles", field), f"{field}.titles")
    if len(texts) != len(ids):
        raise fail(f"{field}.titles", f"has {len(texts)} titles but {field}.ids has {len(ids)} "
                   "ids; each id has one title")
    for position, text in enumerate(texts):
        expect_str(text, f"{field}.titles[{position}]")
    return pd.Series(texts, index=ids, name="title", dtype=object)


def counts_from_json(state: dict[str, Any], field: str, num_users: int,
                     num_items: int) -> tuple[Tensor, Tensor, Tensor]:
    """Ratings per user code and per item code, and each item code's mean rating: one entry per
    code, the unknown code 0 first."""
    def read(key: str, side: str, num_ids: int, whole: bool) -> list[Any]:
        why = (f" (one per {side} code: the {num_ids} ids of {field}.{side}s and the unknown "
               "code 0)")
        return numbers_from_json(expect_key(state, key, field), f"{field}.{key}", num_ids + 1,
                                 whole=whole, minimum=0 if whole else None, why=why)

    return (torch.tensor(read("user_counts", "user", num_users, True), dtype=torch.long),
            torch.tensor(read("item_counts", "item", num_items, True), dtype=torch.long),
            torch.tensor(read("item_means", "item", num_items, False), dtype=torch.float32))


def range_from_json(value: Any, field: str) -> tuple[float, float] | None:
    """null, or [lowest, highest] training rating: finite, lowest <= highest (equal when every
    rating was the same)."""
    if value is None:
        return None
    bounds = expect_list(value, field)
    if len(bounds) != 2:
        raise fail(field, f"must be [lowest, highest]; got {len(bounds)} numbers")
    low = expect_number(bounds[0], f"{field}[0]")
    high = expect_number(bounds[1], f"{field}[1]")
    if low > high:
        raise fail(field, f"must have lowest <= highest; got [{low}, {high}]")
    return low, high


# ----- the pipeline against its model -----------------------------------------------------------
def check_fits_model(pipeline: CollabPipeline, meta: dict[str, Any],
                     shapes: dict[str, tuple[int, ...]]) -> None:
    """Refuse, with a SchemaError naming the field and both numbers, a pipeline that does not
    fit the model of `meta["model"]` (its config) and its weights' `shapes` (state-dict keys)."""
    spec = expect_dict(expect_key(meta, "model", ""), "model")
    config = expect_dict(expect_key(spec, "config", "model"), "model.config")
    for side, ids in (("user", pipeline.users), ("item", pipeline.items)):
        _check_rows(side, len(ids), config, shapes)
        table = pipeline.user_features if side == "user" else pipeline.item_features
        _check_feature_width(side, table, config, shapes)
    _check_y_range(config.get("y_range"))


def _check_rows(side: str, num_ids: int, config: dict[str, Any],
                shapes: dict[str, tuple[int, ...]]) -> None:
    """The side's ids plus the unknown code 0 are its embedding's rows: in the config (n_users,
    or emb_szs for the NN; already checked by its dataclass) and in the weights."""
    codes, said = num_ids + 1, []
    if f"n_{side}s" in config:
        said.append((f"model.config.n_{side}s", config[f"n_{side}s"]))
    elif "emb_szs" in config:
        position = 0 if side == "user" else 1
        said.append((f"model.config.emb_szs[{position}][0]", config["emb_szs"][position][0]))
    shape = shapes.get(f"{side}s.weight")
    if shape:
        said.append((f"the {side} embedding's rows ({side}s.weight)", shape[0]))
    for where, rows in said:
        if rows != codes:
            raise fail(f"pipeline.{side}s", f"has {num_ids} ids, so {codes} {side} codes with the "
                       f"unknown code 0, but {where} is {rows!r}; the ids and the weights come "
                       "from different models")


def _check_feature_width(side: str, table: FeatureTable | None, config: dict[str, Any],
                         shapes: dict[str, tuple[int, ...]]) -> None:
    """A hybrid reads as many side features as the pipeline's table encodes (none without one)."""
    width = table.num_features if table is not None else 0
    said = []
    if f"n_{side}_features" in config:
        said.append((f"model.config.n_{side}_features", config[f"n_{side}_features"]))
    shape = shapes.get(f"{side}_features.0.weight")
    if shape and len(shape) == 2:
        said.append((f"the {side} feature network's inputs ({side}_features.0.weight)", shape[1]))
    for where, num_features in said:
        if num_features != width:
            encoded = f"encodes {width} feature columns" if table is not None else "is null"
            raise fail(f"pipeline.{side}_features", f"{encoded}, but {where} is "
                       f"{num_features!r}; the features and the weights come from different "
                       "models")


def _check_y_range(y_range: Any) -> None:
    """null, or two finite numbers low < high: an infinite end would make every prediction NaN."""
    if y_range is None:
        return
    bounds = expect_list(y_range, "model.config.y_range")
    if len(bounds) != 2:
        raise fail("model.config.y_range", f"must be [low, high]; got {len(bounds)} numbers")
    low = expect_number(bounds[0], "model.config.y_range[0]")
    high = expect_number(bounds[1], "model.config.y_range[1]")
    if not low < high:
        raise fail("model.config.y_range", f"must have low < high; got [{low}, {high}]")
