"""A collab export whose pipeline was damaged or edited is refused, naming the file and the field:
every field's type and range, and the pipeline against the model it travels with."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

import briskml as bm
from briskml.collab import CollabData, CollabLearner
from briskml.collab.pipeline import CollabPipeline
from briskml.errors import FileFormatError
from briskml.persist import read_bundle
from briskml.schema import SchemaError
from tests import tamper
from tests.collab.conftest import make_ratings

Edit = Callable[[dict[str, Any]], None]


def _item_features(items: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"item": items, "year": [1990.0 + i for i in range(len(items))],
                         "genre": ["a", "b", "c"] * (len(items) // 3) + ["a"] * (len(items) % 3)})


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """Tiny untrained exports of each model: dot product (with titles), NN and hybrid."""
    folder = tmp_path_factory.mktemp("exports")
    ratings = make_ratings(num_users=8, num_items=6, density=0.8)
    items = sorted(ratings["item"].unique().tolist())
    titles = {item: f"Item {item}" for item in items}
    data = CollabData.from_df(ratings, valid_pct=0.0, bs=16, item_titles=titles,
                              item_features=_item_features(items))
    learners = {
        "dot": bm.collab_learner(data, n_factors=2, y_range=(0, 5.5), progress=False),
        "nn": bm.collab_learner(data, use_nn=True, layers=[4], emb_szs=(3, 3), progress=False),
        "hybrid": bm.collab_learner(data, n_factors=2, use_features=True, progress=False),
    }
    return {name: learn.export(folder / f"{name}.brisk") for name, learn in learners.items()}


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors, meta = read_bundle(path)
    return tensors, {key: value for key, value in meta.items()
                     if key not in ("format", "format_version")}


def _shapes(tensors: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {key[len("model."):]: tuple(value.shape) for key, value in tensors.items()
            if key.startswith("model.")}


def _edited(path: Path, edit: Edit, target: Path) -> Path:
    """A copy of the export at `target` whose JSON `edit` changed, re-signed (NaN and infinity
    are written as such: a hostile editor is not bound by briskml's writer)."""
    tensors, document, metadata = tamper.read_raw(path)
    edit(document)
    return tamper.write_raw(target, tensors, document, metadata, resign=True)


def _check(path: Path) -> None:
    tensors, meta = _read(path)
    CollabLearner.check_export(meta, _shapes(tensors), str(path))


# ----- edits: (export, what is changed, the field the error must name) --------------------------
def _set(key: str, value: Any) -> Edit:
    def edit(meta: dict[str, Any]) -> None:
        meta["pipeline"][key] = value
    return edit


def _set_entry(key: str, position: int, value: Any) -> Edit:
    def edit(meta: dict[str, Any]) -> None:
        meta["pipeline"][key][position] = value
    return edit


def _extra_id(side: str) -> Edit:
    """One more id (and its count, and mean) than the embedding has rows."""
    def edit(meta: dict[str, Any]) -> None:
        pipeline = meta["pipeline"]
        pipeline[f"{side}s"].append(99999)
        pipeline[f"{side}_counts"].append(1)
        if side == "item":
            pipeline["item_means"].append(3.0)
    return edit


def _one_id_less(side: str) -> Edit:
    def edit(meta: dict[str, Any]) -> None:
        pipeline = meta["pipeline"]
        for key in (f"{side}s", f"{side}_counts") + (("item_means",) if side == "item" else ()):
            pipeline[key].pop()
    return edit


def _features(change: Callable[[dict[str, Any]], None]) -> Edit:
    def edit(meta: dict[str, Any]) -> None:
        change(meta["pipeline"]["item_features"])
    return edit


def _config(key: str, value: Any) -> Edit:
    def edit(meta: dict[str, Any]) -> None:
        meta["model"]["config"][key] = value
    return edit


def _pop(key: str) -> Edit:
    def edit(meta: dict[str, Any]) -> None:
        del meta["pipeline"][key]
    return edit


def _add_category(features: dict[str, Any]) -> None:
    features["encoder"][1]["categories"].append("z")


def _short_column(features: dict[str, Any]) -> None:
    features["columns"]["year"].pop()


EDITS = [
    # the document's shape
    ("dot", "pipeline is a list", lambda meta: meta.update(pipeline=[]), r"'pipeline'"),
    ("dot", "pipeline is missing", lambda meta: meta.pop("pipeline"), r"'pipeline' is missing"),
    ("dot", "items are missing", _pop("items"), r"'pipeline\.items' is missing"),
    # column names
    ("dot", "a column name is a number", lambda meta: meta["pipeline"]["columns"].update(
        user=1.5), r"'pipeline\.columns\.user' must be a column name"),
    ("dot", "two roles name one column", lambda meta: meta["pipeline"]["columns"].update(
        item="user"), r"'pipeline\.columns\.item' repeats the column 'user'"),
    # id lists: types, NaN, repeats, sizes against the embeddings
    ("dot", "users are text", _set("users", "100,101"), r"'pipeline\.users' must be a list"),
    ("dot", "an id is a list", _set_entry("users", 3, [1]), r"'pipeline\.users\[3\]' must be"),
    ("dot", "an id is null", _set_entry("items", 2, None), r"'pipeline\.items\[2\]' must be"),
    ("dot", "an id is NaN", _set_entry("users", 1, math.nan), r"'pipeline\.users\[1\]' must be"),
    ("dot", "an id repeats", lambda meta: meta["pipeline"]["users"].__setitem__(
        2, meta["pipeline"]["users"][1]), r"'pipeline\.users\[2\]' repeats the id"),
    ("dot", "more users than embedding rows", _extra_id("user"),
     r"'pipeline\.users' has 9 ids, so 10 user codes .* model\.config\.n_users is 9"),
    ("dot", "fewer items than embedding rows", _one_id_less("item"),
     r"'pipeline\.items' has 5 ids, so 6 item codes .* model\.config\.n_items is 7"),
    ("nn", "more items than embedding rows", _extra_id("item"),
     r"'pipeline\.items' has 7 ids, so 8 item codes .* model\.config\.emb_szs\[1\]\[0\] is 7"),
    ("nn", "fewer users than embedding rows", _one_id_less("user"),
     r"'pipeline\.users' has 7 ids, so 8 user codes .* model\.config\.emb_szs\[0\]\[0\] is 9"),
    # counts and means
    ("dot", "a count is negative", _set_entry("user_counts", 1, -1),
     r"'pipeline\.user_counts\[1\]' must be at least 0"),
    ("dot", "a count is a fraction", _set_entry("item_counts", 1, 2.5),
     r"'pipeline\.item_counts\[1\]' must be a whole number"),
    ("dot", "a count is missing", lambda meta: meta["pipeline"]["user_counts"].pop(),
     r"'pipeline\.user_counts' has 8 entries; expected 9 \(one per user code"),
    ("dot", "a mean is NaN", _set_entry("item_means", 2, math.nan),
     r"'pipeline\.item_means\[2\]' must be a finite number"),
    ("dot", "a mean is text", _set_entry("item_means", 2, "3.5"),
     r"'pipeline\.item_means\[2\]' must be a number"),
    # the rating range
    ("dot", "the range is upside down", _set("rating_range", [5.0, 1.0]),
     r"'pipeline\.rating_range' must have lowest <= highest"),
    ("dot", "the range has one end", _set("rating_range", [1.0]),
     r"'pipeline\.rating_range' must be \[lowest, highest\]"),
    ("dot", "the range is infinite", _set("rating_range", [1.0, math.inf]),
     r"'pipeline\.rating_range\[1\]' must be a finite number"),
    ("dot", "y_range has an infinite end", _config("y_range", [0.0, math.inf]),
     r"'model\.config\.y_range\[1\]' must be a finite number"),
    # titles
    ("dot", "a title is missing", lambda meta: meta["pipeline"]["titles"]["titles"].pop(),
     r"'pipeline\.titles\.titles' has 5 titles but pipeline\.titles\.ids has 6"),
    ("dot", "a title is a number", lambda meta: meta["pipeline"]["titles"]["titles"].__setitem__(
        0, 7), r"'pipeline\.titles\.titles\[0\]' must be a string"),
    # side features
    ("hybrid", "a feature kind is unknown", _features(
        lambda features: features["encoder"][0].update(kind="text")),
     r"'pipeline\.item_features\.encoder\[0\]\.kind' must be one of"),
    ("hybrid", "a feature std is zero", _features(
        lambda features: features["encoder"][0].update(std=0.0)),
     r"'pipeline\.item_features\.encoder\[0\]\.std' must be greater than 0"),
    ("hybrid", "a feature value is text", _features(
        lambda features: features["columns"]["year"].__setitem__(2, "x")),
     r"'pipeline\.item_features\.columns\.year\[2\]' must be a finite number or null"),
    ("hybrid", "a feature value is infinite", _features(
        lambda features: features["columns"]["year"].__setitem__(2, math.inf)),
     r"'pipeline\.item_features\.columns\.year\[2\]' must be a finite number or null"),
    ("hybrid", "a feature column is short", _features(_short_column),
     r"'pipeline\.item_features\.columns\.year' has 5 values but the table has 6 ids"),
    ("hybrid", "a feature id repeats", _features(
        lambda features: features["ids"].__setitem__(1, features["ids"][0])),
     r"'pipeline\.item_features\.ids\[1\]' repeats the id"),
    ("hybrid", "one more category than the model reads", _features(_add_category),
     r"'pipeline\.item_features' encodes 5 feature columns, but model\.config\.n_item_features"
     r" is 4"),
    ("hybrid", "the features are gone", _set("item_features", None),
     r"'pipeline\.item_features' is null, but model\.config\.n_item_features is 4"),
]
IDS = [f"{kind}: {what}" for kind, what, _, _ in EDITS]


@pytest.mark.parametrize(("kind", "what", "edit", "field"), EDITS, ids=IDS)
def test_check_export_names_the_file_and_the_field(exports, tmp_path, kind, what, edit, field):
    path = _edited(exports[kind], edit, tmp_path / "edited.brisk")
    damaged = rf"'{re.escape(str(path))}' is damaged or was edited: field {field}"
    with pytest.raises(FileFormatError, match=damaged):
        _check(path)


@pytest.mark.parametrize(("kind", "what", "edit", "field"), EDITS, ids=IDS)
def test_load_learner_refuses_the_edited_file_naming_the_field(exports, tmp_path, kind, what,
                                                               edit, field):
    path = _edited(exports[kind], edit, tmp_path / "edited.brisk")
    with pytest.raises(FileFormatError, match=f"field {field}"):
        bm.load_learner(path)


@pytest.mark.parametrize("kind", ["dot", "nn", "hybrid"])
def test_an_untouched_export_passes_the_checks_and_loads(exports, kind):
    _check(exports[kind])
    assert isinstance(bm.load_learner(exports[kind]), CollabLearner)


@pytest.mark.parametrize("name", ["collab_dot", "collab_nn"])
def test_a_briskml_0_1_0_export_passes_the_checks_once_upgraded(name):
    path = Path(__file__).parents[1] / "fixtures" / "v0_1_0" / f"{name}.brisk"
    tensors, meta = _read(path)
    meta = CollabLearner.upgrade_v1(meta, str(path))
    CollabLearner.check_export(meta, _shapes(tensors), str(path))


def test_a_damaged_0_1_0_state_names_its_field():
    path = Path(__file__).parents[1] / "fixtures" / "v0_1_0" / "collab_dot.brisk"
    _, meta = _read(path)
    meta["extra"]["data"]["users"][0] = {"id": 1}
    with pytest.raises(FileFormatError, match=r"0\.1\.0 .*field 'extra\.data\.users\[0\]'"):
        CollabLearner.upgrade_v1(meta, str(path))


# ----- no edit lets a raw error out ---------------------------------------------------------------
HOSTILE = [None, True, -1, 2.5, math.nan, math.inf, "x", [], {}, [[[]]], {"a": 1}]


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key of every object, and the first and last entry of every list, in `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _places(item, (*path, key))
    elif isinstance(value, list) and value:
        for position in sorted({0, len(value) - 1}):
            yield (*path, position)
            yield from _places(value[position], (*path, position))


def _replaced(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


@pytest.mark.parametrize("kind", ["dot", "hybrid"])
def test_any_field_replaced_by_anything_gives_a_file_format_error_or_loads(exports, kind):
    tensors, meta = _read(exports[kind])
    shapes, source = _shapes(tensors), str(exports[kind])
    places = [("pipeline", *path) for path in _places(meta["pipeline"])]
    assert len(places) > 30
    for path in places:
        for value in HOSTILE:
            edited = _replaced(meta, path, value)
            try:
                CollabLearner.check_export(edited, shapes, source)
            except FileFormatError as error:
                assert source in str(error), (path, value, error)
            except Exception as error:   # the point: nothing else may escape
                pytest.fail(f"{path} = {value!r} let out {type(error).__name__}: {error}")


def test_from_json_alone_raises_schema_errors_with_the_path(exports):
    _, meta = _read(exports["dot"])
    state = meta["pipeline"]
    state["users"][0] = None
    with pytest.raises(SchemaError, match=r"field 'pipeline\.users\[0\]'"):
        CollabPipeline.from_json(state)
    with pytest.raises(SchemaError, match=r"field 'saved\.users\[0\]'"):
        CollabPipeline.from_json(state, "saved")


def test_a_rating_range_of_one_value_is_accepted(exports):
    """Every training rating may be the same (e.g. implicit feedback, all 1)."""
    _, meta = _read(exports["dot"])
    state = meta["pipeline"]
    state["rating_range"] = [1.0, 1.0]
    assert CollabPipeline.from_json(state).rating_range == (1.0, 1.0)


def test_numbered_columns_survive_the_checks():
    ratings = make_ratings(num_users=5, num_items=4, density=0.9)
    numbered = pd.DataFrame(ratings.to_numpy())   # columns 0, 1, 2
    data = CollabData.from_df(numbered, valid_pct=0.0, bs=8)
    again = CollabPipeline.from_json(data.pipeline.to_json())
    assert (again.user_name, again.item_name, again.rating_name) == (0, 1, 2)
