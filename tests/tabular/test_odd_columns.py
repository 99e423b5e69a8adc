"""Properties of the tabular pipeline on odd columns: whatever the dtype (bool, category, str,
nullable Int64/boolean/Float64 with pd.NA, mixed objects, dates, durations), missing or infinite
values, unicode or duplicated names, all-missing columns and one-row frames, fitting either
refuses with a BriskError that names a column, or gives finite float32 continuous values and
codes within each column's categories, the same again after to_json / from_json."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from briskml.errors import ConfigError, DataError
from briskml.tabular import Categorify, FillMissing, Normalize, TabularPipeline

pytestmark = pytest.mark.filterwarnings("ignore::briskml.errors.BriskWarning")

PROCS = [FillMissing, Categorify, Normalize]
SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64))
integers = st.one_of(st.none(), st.integers(-3, 3))
texts = st.one_of(st.none(), st.sampled_from(["a", "b", "é", "日本", "", " "]))
mixed = st.one_of(st.none(), st.integers(-2, 2), st.sampled_from(["a", "1", "b"]),
                  st.floats(allow_nan=True, allow_infinity=True), st.booleans())
stamps = st.one_of(st.none(), st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                                           max_value=pd.Timestamp("2030-01-01").to_pydatetime()))
durations = st.one_of(st.none(), st.integers(0, 10**6))

# kind -> (values strategy, how a list of drawn values becomes a column)
KINDS = {
    "float": (floats, lambda values: pd.array(values, dtype="float64")),
    "all missing": (st.none(), lambda values: pd.array(values, dtype="float64")),
    "Float64": (floats, lambda values: pd.array([pd.NA if v is None or v != v else v
                                                 for v in values], dtype="Float64")),
    "Int64": (integers, lambda values: pd.array(values, dtype="Int64")),
    "int": (st.integers(-5, 5), lambda values: np.array(values, dtype=np.int64)),
    "bool": (st.booleans(), lambda values: np.array(values, dtype=bool)),
    "boolean": (st.one_of(st.none(), st.booleans()),
                lambda values: pd.array(values, dtype="boolean")),
    "str": (texts, lambda values: pd.array(values, dtype="str")),
    "object text": (texts, lambda values: np.array(values, dtype=object)),
    "category": (texts, lambda values: pd.Categorical(values)),
    "mixed objects": (mixed, lambda values: np.array(values, dtype=object)),
    "datetime": (stamps, lambda values: pd.to_datetime(pd.Series(values, dtype=object))),
    "timedelta": (durations, lambda values: pd.to_timedelta(pd.Series(values, dtype="Int64"),
                                                            unit="s")),
}
names = st.one_of(st.sampled_from(["age", "ville", "名前", "a b", "0", "age_na", "ŷ"]),
                  st.text(min_size=1, max_size=4)).filter(lambda name: name != "target")


@st.composite
def frames(draw):
    """(frame, cat_names, cont_names, the columns' names): 1-6 rows, 1-4 odd columns, each used
    as categorical or continuous, and a finite regression target."""
    num_rows = draw(st.integers(1, 6))
    num_columns = draw(st.integers(1, 4))
    column_names = draw(st.lists(names, min_size=num_columns, max_size=num_columns, unique=True))
    if num_columns > 1 and draw(st.integers(0, 4)) == 0:
        column_names[-1] = column_names[0]   # as pd.concat of frames sharing a column leaves it
    columns, cat_names, cont_names = [], [], []
    for name in column_names:
        kind = draw(st.sampled_from(sorted(KINDS)))
        values_of, build = KINDS[kind]
        values = draw(st.lists(values_of, min_size=num_rows, max_size=num_rows))
        column = pd.Series(build(values), name=name).reset_index(drop=True)
        columns.append(column)
        if name not in cat_names + cont_names:
            (cat_names if draw(st.booleans()) else cont_names).append(name)
    target = pd.Series(draw(st.lists(st.floats(-1e6, 1e6), min_size=num_rows,
                                     max_size=num_rows)), name="target")
    frame = pd.concat([*columns, target], axis=1)   # names may repeat, as after pd.concat
    return frame, cat_names, cont_names


def _missing(values: pd.Series) -> torch.Tensor:
    """Missing values, and a float column's infinities (they count as missing)."""
    missing = values.isna().to_numpy()
    if values.dtype.kind == "f":
        missing = missing | np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
    return torch.tensor(missing)


def _names_a_column(error: Exception, frame: pd.DataFrame) -> bool:
    message = str(error)
    return any(repr(name) in message for name in frame.columns)


@SETTINGS
@given(case=frames())
# Cases it found: a date column without a date; bools among numbers (False == 0)
@example(case=(pd.DataFrame({"0": pd.Series([pd.NaT]), "target": [0.0]}), ["0"], []))
@example(case=(pd.DataFrame({"0": np.array([0, False], dtype=object), "target": [0.0, 1.0]}),
               ["0"], []))
def test_odd_columns_are_refused_by_name_or_give_finite_inputs_that_survive_json(case):
    frame, cat_names, cont_names = case
    train_rows = np.arange(len(frame))
    try:
        pipeline, (cats, conts) = TabularPipeline.fit_transform(
            frame, train_rows, cat_names, cont_names, PROCS, ["target"])
    except (DataError, ConfigError) as error:
        assert _names_a_column(error, frame), str(error)
        return
    assert conts.dtype == torch.float32 and torch.isfinite(conts).all()
    assert cats.dtype == torch.int64 and (cats >= 0).all()
    for column, name in enumerate(pipeline.out_cat_names):
        assert (cats[:, column] <= len(pipeline.categories[name])).all()
    for column, name in enumerate(cat_names):   # a training value is never "unseen"
        assert (cats[~_missing(frame[name]), column] > 0).all()
    state = json.loads(json.dumps(pipeline.to_json(), allow_nan=False))
    rebuilt = TabularPipeline.from_json(state)
    for again in (pipeline.inputs(frame, unknown="ignore"),
                  rebuilt.inputs(frame, unknown="ignore")):
        assert torch.equal(again[0], cats) and torch.equal(again[1], conts)
    # Row by row (as predict gets them) the codes and values are the same too.
    for row in range(len(frame)):
        one_cats, one_conts = rebuilt.inputs(frame.iloc[[row]], unknown="ignore")
        assert torch.equal(one_cats[0], cats[row]) and torch.equal(one_conts[0], conts[row])


@SETTINGS
@given(kind=st.sampled_from(sorted(KINDS)), data=st.data())
def test_odd_targets_are_refused_by_name_or_give_finite_targets(kind, data):
    num_rows = data.draw(st.integers(1, 6))
    values_of, build = KINDS[kind]
    target = pd.Series(build(data.draw(st.lists(values_of, min_size=num_rows,
                                                max_size=num_rows))), name="ŷ")
    frame = pd.DataFrame({"x": np.arange(num_rows, dtype=float), "ŷ": target})
    try:
        pipeline = TabularPipeline.fit(frame, np.arange(num_rows), [], ["x"], PROCS, ["ŷ"])
        targets = pipeline.targets(frame)
    except (DataError, ConfigError) as error:
        assert "'ŷ'" in str(error), str(error)
        return
    if pipeline.y_kind == "category":
        assert targets.dtype == torch.int64 and len(pipeline.classes) >= 2
        assert ((targets >= 0) & (targets < len(pipeline.classes))).all()
        state = json.loads(json.dumps(pipeline.to_json(), allow_nan=False))
        assert torch.equal(TabularPipeline.from_json(state).targets(frame), targets)
    else:
        assert torch.isfinite(targets).all()
