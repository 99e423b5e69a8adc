"""A tabular export's pipeline JSON is checked field by field, and against its model, before
anything is built: an edited or damaged field is a FileFormatError that names it."""

import contextlib
import copy
import json
import re
from pathlib import Path

import pytest

import briskml as bm
from briskml.errors import FileFormatError
from briskml.persist import read_bundle, write_bundle
from briskml.schema import SchemaError
from briskml.tabular import TabularLearner, TabularPipeline, tabular_learner
from tests.tabular.conftest import make_people
from tests.tabular.test_data import from_people

pytestmark = pytest.mark.filterwarnings("ignore::briskml.errors.BriskWarning")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0"
DELETE = object()   # an edit that removes the key
JUNK = [None, "x", -1, 0, 2.5, True, [], {}, ["x"], {"x": 1}, float("nan")]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """An untrained classifier's and regressor's export (the checks read no weights' values)."""
    folder = tmp_path_factory.mktemp("exports")
    people = make_people(120)
    files = {}
    for name, y in (("classifier", "bought"), ("regressor", "spend")):
        learn = tabular_learner(from_people(people, y=y, seed=0), layers=[8], progress=False,
                                path=folder)
        files[name] = learn.export(f"{name}.brisk")
    return files


def _read(path: Path) -> tuple[dict, dict, dict]:
    """(tensors, meta without the container's keys, shapes without the "model." prefix)."""
    tensors, meta = read_bundle(path)
    meta = {key: value for key, value in meta.items() if key not in ("format", "format_version")}
    shapes = {key[len("model."):]: tuple(value.shape) for key, value in tensors.items()}
    return tensors, meta, shapes


def _edit(meta: dict, path: tuple, value) -> dict:
    """A copy of `meta` with the field at `path` set to `value` (a function of `meta`: to what
    it returns), or removed."""
    value = value(meta) if callable(value) else value
    edited = copy.deepcopy(meta)
    parent = edited
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return edited


def _edits(meta: dict, edits: list[tuple[tuple, object]]) -> dict:
    for path, value in edits:
        meta = _edit(meta, path, value)
    return meta


P = ("pipeline",)
FILL, CATS, NORM = (*P, "procs", 0, "state"), (*P, "procs", 1, "state"), (*P, "procs", 2, "state")

# (edits, the field the error must name): each field of the pipeline, one way it can be wrong.
FIELD_CASES = {
    "pipeline is null": ([(P, None)], "pipeline"),
    "pipeline is missing": ([(P, DELETE)], "pipeline"),
    "cat_names is text": ([((*P, "cat_names"), "city")], "pipeline.cat_names"),
    "a cat name is a number": ([((*P, "cat_names", 0), 7)], "pipeline.cat_names[0]"),
    "a cat name twice": ([((*P, "cat_names"), ["city", "city", "member"])],
                         "pipeline.cat_names"),
    "cont_names is missing": ([((*P, "cont_names"), DELETE)], "pipeline.cont_names"),
    "a column both cat and cont": ([((*P, "cont_names"), ["age", "city"])],
                                   "pipeline.cont_names[1]"),
    "a target is an input": ([((*P, "y_names"), ["age"])], "pipeline.y_names[0]"),
    "no target": ([((*P, "y_names"), [])], "pipeline.y_names"),
    "two targets of one class target": ([((*P, "y_names"), ["bought", "spend"])],
                                        "pipeline.y_names"),
    "out_cat_names reordered": ([((*P, "out_cat_names"), ["size", "city", "member", "age_na"])],
                                "pipeline.out_cat_names"),
    "out_cont_names empty": ([((*P, "out_cont_names"), [])], "pipeline.out_cont_names"),
    "procs is an object": ([((*P, "procs"), {})], "pipeline.procs"),
    "an unknown processor": ([((*P, "procs", 0, "name"), "Bucketize")], "pipeline.procs[0].name"),
    "a processor twice": ([((*P, "procs", 2), lambda meta: meta["pipeline"]["procs"][0])],
                          "pipeline.procs[2]"),
    "a state is missing": ([((*P, "procs", 1, "state"), DELETE)], "pipeline.procs[1].state"),
    "fill_strategy": ([((*FILL, "fill_strategy"), "mode")],
                      "pipeline.procs[0].state.fill_strategy"),
    "fill_value": ([((*FILL, "fill_value"), "zero")], "pipeline.procs[0].state.fill_value"),
    "add_col": ([((*FILL, "add_col"), 1)], "pipeline.procs[0].state.add_col"),
    "a fill value is text": ([((*FILL, "fill_values", "age"), "40")],
                             "pipeline.procs[0].state.fill_values.age"),
    "a fill value is NaN": ([((*FILL, "fill_values", "age"), float("nan"))],
                            "pipeline.procs[0].state.fill_values.age"),
    "a fill value is missing": ([((*FILL, "fill_values", "income"), DELETE)],
                                "pipeline.procs[0].state.fill_values"),
    "na_names names another column": ([((*FILL, "na_names"), ["zzz"])],
                                      "pipeline.procs[0].state.na_names[0]"),
    "categories is a list": ([((*CATS, "categories"), [])], "pipeline.procs[1].state.categories"),
    "a category twice": ([((*CATS, "categories", "city"), ["Brest", "Brest", "Nice", "Paris"])],
                         "pipeline.procs[1].state.categories.city[1]"),
    "a category that is a list": ([((*CATS, "categories", "city", 0), ["Brest"])],
                                  "pipeline.procs[1].state.categories.city[0]"),
    "a category that is null": ([((*CATS, "categories", "city", 0), None)],
                                "pipeline.procs[1].state.categories.city[0]"),
    "a column without categories": ([((*CATS, "categories", "city"), DELETE)],
                                     "pipeline.procs[1].state.categories"),
    "as_text names another column": ([((*CATS, "as_text"), ["zzz"])],
                                     "pipeline.procs[1].state.as_text[0]"),
    "a date kind that is not one": ([((*CATS, "dates"), {"city": "calendar"})],
                                    "pipeline.procs[1].state.dates.city"),
    "a negative std": ([((*NORM, "stds", "age"), -1.0)], "pipeline.procs[2].state.stds.age"),
    "a zero std": ([((*NORM, "stds", "age"), 0)], "pipeline.procs[2].state.stds.age"),
    "an infinite mean": ([((*NORM, "means", "income"), float("inf"))],
                         "pipeline.procs[2].state.means.income"),
    "a std is missing": ([((*NORM, "stds", "income"), DELETE)], "pipeline.procs[2].state.stds"),
    "y_kind": ([((*P, "y_kind"), "classes")], "pipeline.y_kind"),
    "classes is null": ([((*P, "classes"), None)], "pipeline.classes"),
    "one class": ([((*P, "classes"), ["no"])], "pipeline.classes"),
    "a class twice": ([((*P, "classes"), ["no", "no"])], "pipeline.classes[1]"),
    "log_y is text": ([((*P, "log_y"), "no")], "pipeline.log_y"),
    "log_y of a class target": ([((*P, "log_y"), True)], "pipeline.log_y"),
}

# Edits that leave a consistent pipeline which does not fit the model: both numbers are named.
MODEL_CASES = {
    "a category fewer": (
        [((*CATS, "categories", "city"), ["Brest", "Lyon", "Nice"])],
        "pipeline.procs[1].state.categories.city",
        r"has 3 categories \(4 codes with code 0 .*\) but model.config.emb_szs\[0\] has 5"),
    "a categorical column fewer": (
        [((*P, "cat_names"), ["city", "size"]),
         ((*P, "out_cat_names"), ["city", "size", "age_na"]),
         ((*CATS, "categories", "member"), DELETE)],
        "pipeline.out_cat_names", "has 3 categorical columns but model.config.emb_szs has 4"),
    "a continuous column fewer": (
        [((*P, "cont_names"), ["age"]), ((*P, "out_cont_names"), ["age"]),
         ((*FILL, "fill_values", "income"), DELETE), ((*NORM, "means", "income"), DELETE),
         ((*NORM, "stds", "income"), DELETE)],
        "pipeline.out_cont_names", "has 1 continuous columns but model.config.num_continuous is 2"),
    "a class more": ([((*P, "classes"), ["maybe", "no", "yes"])], "pipeline.classes",
                     "has 3 classes but model.config.out_features is 2"),
}


def _shown(field: str) -> str:
    return re.escape(f"field '{field}'")


@pytest.mark.parametrize(("edits", "field"), list(FIELD_CASES.values()), ids=list(FIELD_CASES))
def test_check_export_names_the_edited_field(exports, edits, field):
    _, meta, shapes = _read(exports["classifier"])
    with pytest.raises(FileFormatError, match=r"'f\.brisk' is damaged or was edited: "
                                              + _shown(field)):
        TabularLearner.check_export(_edits(meta, edits), shapes, "f.brisk")


@pytest.mark.parametrize(("edits", "field", "numbers"), list(MODEL_CASES.values()),
                         ids=list(MODEL_CASES))
def test_check_export_names_a_pipeline_that_does_not_fit_the_model(exports, edits, field,
                                                                   numbers):
    _, meta, shapes = _read(exports["classifier"])
    edited = _edits(meta, edits)
    TabularPipeline.from_json(edited["pipeline"])   # consistent on its own
    with pytest.raises(FileFormatError, match=_shown(field) + " " + numbers):
        TabularLearner.check_export(edited, shapes, "f.brisk")


@pytest.mark.parametrize(("edits", "field"),
                         [*FIELD_CASES.values(), *(case[:2] for case in MODEL_CASES.values())],
                         ids=[*FIELD_CASES, *MODEL_CASES])
def test_load_learner_refuses_the_edited_file_naming_the_field(exports, tmp_path, edits, field):
    tensors, meta, _ = _read(exports["classifier"])
    edited = _edits(meta, edits)
    path = write_bundle(tmp_path / "f.brisk", tensors,
                        json.loads(json.dumps(edited)))   # NaN survives as JSON's NaN
    with pytest.raises(FileFormatError, match=_shown(field)):
        bm.load_learner(path)


def test_a_regression_needs_one_output_per_target(exports):
    _, meta, shapes = _read(exports["regressor"])
    edited = _edit(meta, ("pipeline", "y_names"), ["spend", "spend_again"])
    with pytest.raises(FileFormatError, match=_shown("pipeline.y_names")
                       + " has 2 targets but model.config.out_features is 1"):
        TabularLearner.check_export(edited, shapes, "f.brisk")
    with pytest.raises(FileFormatError, match=_shown("pipeline.classes")):
        TabularLearner.check_export(_edit(meta, ("pipeline", "classes"), ["a", "b"]), shapes,
                                    "f.brisk")


def test_the_weights_shapes_are_checked_too(exports):
    _, meta, shapes = _read(exports["classifier"])
    with pytest.raises(FileFormatError, match=_shown("pipeline.classes")
                       + " has 2 classes but the tensor head.weight's rows is 3"):
        TabularLearner.check_export(meta, {**shapes, "head.weight": (3, 8)}, "f.brisk")
    rows = shapes["embeds.weight"][0]
    with pytest.raises(FileFormatError, match=f"need {rows} embedding rows in all but the tensor "
                                              f"embeds.weight has {rows + 1}"):
        TabularLearner.check_export(meta, {**shapes, "embeds.weight": (rows + 1, 4)}, "f.brisk")


def test_an_unedited_export_and_the_0_1_0_files_pass_the_checks(exports):
    for path in exports.values():
        _, meta, shapes = _read(path)
        TabularLearner.check_export(meta, shapes, path.name)
    for name in ("tabular_classifier", "tabular_regressor"):
        _, meta, shapes = _read(FIXTURES / f"{name}.brisk")
        TabularLearner.check_export(TabularLearner.upgrade_v1(meta, name), shapes, name)


def _paths(value, path=()):
    """Every key and position of a JSON document, containers included."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _paths(item, (*path, position))


def test_no_edit_of_any_field_escapes_as_anything_but_a_file_format_error(exports):
    """Every field replaced by every kind of junk (or removed): from_json either rebuilds a
    pipeline or raises a SchemaError, and check_export a FileFormatError; never a raw
    KeyError, TypeError, AttributeError ..."""
    _, meta, shapes = _read(exports["classifier"])
    for path in _paths(meta["pipeline"], ("pipeline",)):
        removal = [DELETE] if isinstance(path[-1], str) else []
        for value in [*JUNK, *removal]:
            edited = _edit(meta, path, value)
            try:
                TabularPipeline.from_json(edited.get("pipeline"))
            except SchemaError:
                pass
            except Exception as error:   # anything else is what this test is about
                pytest.fail(f"editing {path} to {value!r}: {type(error).__name__}: {error}")
            with contextlib.suppress(FileFormatError):
                TabularLearner.check_export(edited, shapes, "f.brisk")
