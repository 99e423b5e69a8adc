import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.tabular import Categorify, FillMissing, Normalize, add_datepart, cont_cat_split
from briskml.tabular.procs import ProcReport, proc_from_json, proc_to_json


# ----- FillMissing -------------------------------------------------------------------------------
def test_fill_missing_uses_the_training_median_and_adds_an_na_column():
    train = pd.DataFrame({"age": [10.0, np.nan, 30.0, 40.0]})
    proc = FillMissing()
    cat_names, cont_names = proc.fit(train, [], ["age"])
    out = proc.transform(train)
    assert cat_names == ["age_na"] and cont_names == ["age"]
    assert out["age"].tolist() == [10.0, 30.0, 30.0, 40.0]
    assert out["age_na"].tolist() == [False, True, False, False]


@pytest.mark.parametrize(("strategy", "expected"), [("median", 2.0), ("mean", 3.0),
                                                    ("constant", -1.0)])
def test_fill_missing_strategies(strategy, expected):
    train = pd.DataFrame({"x": [1.0, 2.0, 6.0, np.nan]})
    proc = FillMissing(fill_strategy=strategy, fill_value=-1.0)
    proc.fit(train, [], ["x"])
    assert proc.transform(train)["x"].iloc[3] == expected


def test_a_column_missing_only_in_later_rows_is_filled_without_a_new_column():
    proc = FillMissing()
    cat_names, _ = proc.fit(pd.DataFrame({"x": [1.0, 3.0]}), [], ["x"])
    out = proc.transform(pd.DataFrame({"x": [np.nan]}))
    assert cat_names == [] and "x_na" not in out
    assert out["x"].tolist() == [2.0]


def test_fill_missing_rejects_an_unknown_strategy():
    with pytest.raises(ConfigError, match="fill_strategy must be one of"):
        FillMissing(fill_strategy="mode")


def test_fill_missing_on_an_all_missing_column_warns_and_uses_the_fill_value():
    proc = FillMissing()
    with pytest.warns(BriskWarning, match="no values in the training rows"):
        proc.fit(pd.DataFrame({"x": [np.nan, np.nan]}), [], ["x"])
    assert proc.fill_values == {"x": 0.0}


def test_fill_missing_refuses_to_overwrite_an_existing_na_column():
    train = pd.DataFrame({"x": [1.0, np.nan], "x_na": [0, 1]})
    with pytest.raises(DataError, match="already exist"):
        FillMissing().fit(train, [], ["x"])


# ----- Categorify -------------------------------------------------------------------------------
def test_categorify_sorts_categories_and_reserves_code_zero():
    proc = Categorify()
    proc.fit(pd.DataFrame({"city": ["Paris", "Lyon", "Paris", None]}), ["city"], [])
    assert proc.categories == {"city": ["Lyon", "Paris"]}
    codes = proc.transform(pd.DataFrame({"city": ["Lyon", "Paris", None, "Atlantis"]}))["city"]
    assert codes.tolist() == [1, 2, 0, 0]


def test_categorify_keeps_the_order_of_an_ordered_categorical():
    sizes = pd.Categorical(["M", "S", "L", "M"], categories=["S", "M", "L", "XL"], ordered=True)
    proc = Categorify()
    proc.fit(pd.DataFrame({"size": sizes}), ["size"], [])
    assert proc.categories["size"] == ["S", "M", "L"]  # XL never occurs in the training rows
    assert proc.transform(pd.DataFrame({"size": ["S", "L"]}))["size"].tolist() == [1, 3]


def test_categorify_compares_mixed_types_as_text():
    proc = Categorify()
    proc.fit(pd.DataFrame({"code": [1, "a", 2.5]}), ["code"], [])
    assert proc.categories["code"] == ["1", "2.5", "a"]
    assert proc.transform(pd.DataFrame({"code": ["a", 1]}))["code"].tolist() == [3, 1]


def test_categorify_matches_integer_categories_given_as_floats():
    proc = Categorify()
    proc.fit(pd.DataFrame({"grade": [1, 2, 3]}), ["grade"], [])
    assert proc.transform(pd.DataFrame({"grade": [2.0, np.nan]}))["grade"].tolist() == [2, 0]


def test_categorify_reports_unseen_and_missing_values_per_column():
    proc = Categorify()
    proc.fit(pd.DataFrame({"city": ["Lyon", "Paris"]}), ["city"], [])
    report = ProcReport()
    proc.transform(pd.DataFrame({"city": ["Nice", "Nice", None, "Lyon"]}), report)
    assert report.unseen == {"city": 2} and report.missing == {"city": 1}
    assert report.unseen_examples == {"city": ["Nice"]}
    assert "city: 2 unseen categories (e.g. 'Nice'), 1 missing" in report.describe()


def test_categorify_decodes_codes_back_to_labels():
    proc = Categorify()
    proc.fit(pd.DataFrame({"city": ["Lyon", "Paris"]}), ["city"], [])
    assert proc.decode("city", np.array([2, 0, 1])).tolist() == ["Paris", "#na#", "Lyon"]


# ----- Normalize --------------------------------------------------------------------------------
def test_normalize_uses_the_training_mean_and_std():
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    proc = Normalize()
    proc.fit(train, [], ["x"])
    out = proc.transform(train)["x"]
    assert out.dtype == np.float32
    assert out.mean() == pytest.approx(0.0, abs=1e-6)
    assert out.std(ddof=0) == pytest.approx(1.0, abs=1e-6)
    assert proc.decode("x", out.to_numpy()) == pytest.approx([1.0, 2.0, 3.0, 4.0])


def test_normalize_leaves_a_constant_column_finite():
    proc = Normalize()
    proc.fit(pd.DataFrame({"x": [5.0, 5.0, 5.0]}), [], ["x"])
    out = proc.transform(pd.DataFrame({"x": [5.0, 6.0]}))["x"]
    assert out.tolist() == [0.0, 1.0]


# ----- every processor --------------------------------------------------------------------------
@pytest.mark.parametrize("proc_class", [FillMissing, Categorify, Normalize])
def test_transform_never_modifies_its_input(proc_class):
    train = pd.DataFrame({"city": ["a", None, "b"], "x": [1.0, np.nan, 3.0]})
    before = train.copy()
    proc = proc_class()
    proc.fit(train, ["city"], ["x"])
    proc.transform(train, ProcReport())
    pd.testing.assert_frame_equal(train, before)


@pytest.mark.parametrize("proc_class", [FillMissing, Categorify, Normalize])
def test_fitted_state_survives_json(proc_class):
    train = pd.DataFrame({"city": ["a", None, "b", "a"], "x": [1.0, np.nan, 3.0, 7.0]})
    proc = proc_class()
    proc.fit(train, ["city"], ["x"])
    rebuilt = proc_from_json(json.loads(json.dumps(proc_to_json(proc))))
    pd.testing.assert_frame_equal(rebuilt.transform(train), proc.transform(train))


@pytest.mark.parametrize("proc_class", [FillMissing, Categorify, Normalize])
def test_transform_before_fit_says_so(proc_class):
    with pytest.raises(ConfigError, match="not fitted yet"):
        proc_class().transform(pd.DataFrame({"x": [1.0]}))


# ----- properties (hypothesis) ------------------------------------------------------------------
finite_or_missing = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))
labels = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))


@st.composite
def tables(draw):
    num_rows = draw(st.integers(min_value=1, max_value=30))
    return pd.DataFrame({
        "x": pd.array(draw(st.lists(finite_or_missing, min_size=num_rows, max_size=num_rows)),
                      dtype="Float64").astype("float64"),
        "y": draw(st.lists(finite_or_missing, min_size=num_rows, max_size=num_rows)),
        "city": draw(st.lists(labels, min_size=num_rows, max_size=num_rows)),
    })


def _fit_all(train):
    frame = train.copy()
    frame["y"] = pd.to_numeric(frame["y"])
    procs = [FillMissing(), Categorify(), Normalize()]
    cat_names, cont_names = ["city"], ["x", "y"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BriskWarning)  # all-missing columns warn; fine here
        for proc in procs:
            cat_names, cont_names = proc.fit(frame, cat_names, cont_names)
            frame = proc.transform(frame)
    return procs, frame, cat_names, cont_names


def _apply(procs, rows):
    frame = rows.copy()
    frame["y"] = pd.to_numeric(frame["y"])
    for proc in procs:
        frame = proc.transform(frame)
    return frame


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(train=tables(), later=tables())
def test_processors_never_produce_nan_or_infinity(train, later):
    procs, out, cat_names, cont_names = _fit_all(train)
    for frame in (out, _apply(procs, later)):
        values = frame[cont_names].to_numpy(dtype=np.float64)
        assert np.isfinite(values).all()
        codes = frame[cat_names].to_numpy()
        assert (codes >= 0).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(train=tables())
def test_processing_the_training_rows_twice_gives_the_same_result(train):
    procs, out, _, _ = _fit_all(train)
    pd.testing.assert_frame_equal(_apply(procs, train), out)
    refitted, out_again, _, _ = _fit_all(train)
    assert [proc.to_json() for proc in refitted] == [proc.to_json() for proc in procs]
    pd.testing.assert_frame_equal(out_again, out)


# ----- helpers ----------------------------------------------------------------------------------
def test_cont_cat_split_follows_the_lessons_rule():
    df = pd.DataFrame({"price": [1.5, 2.5, 3.5], "rooms": [1, 2, 3], "zip": range(100, 103),
                       "town": ["a", "b", "c"], "sold": [True, False, True],
                       "when": pd.to_datetime(["2020-01-01"] * 3), "target": [0, 1, 0]})
    cont_names, cat_names = cont_cat_split(df, max_card=2, dep_var="target")
    assert cont_names == ["price", "rooms", "zip"]
    assert cat_names == ["town", "sold"]


def test_add_datepart_expands_a_date_without_touching_the_input():
    df = pd.DataFrame({"saledate": ["2020-03-31", "2021-01-01", None], "x": [1, 2, 3]})
    before = df.copy()
    out = add_datepart(df, "saledate")
    pd.testing.assert_frame_equal(df, before)
    expected = [f"sale{part}" for part in ("Year", "Month", "Week", "Day", "Dayofweek",
                                           "Dayofyear", "Is_month_end", "Is_month_start",
                                           "Is_quarter_end", "Is_quarter_start", "Is_year_end",
                                           "Is_year_start", "Elapsed")]
    assert list(out.columns) == ["x", *expected]
    assert out["saleYear"].tolist()[:2] == [2020, 2021]
    assert out["saleIs_quarter_end"].tolist() == [True, False, False]
    assert out["saleIs_year_start"].tolist() == [False, True, False]
    assert out["saleElapsed"].iloc[1] == pd.Timestamp("2021-01-01").timestamp()
    assert np.isnan(out["saleMonth"].iloc[2])  # a missing date stays missing, for FillMissing


@pytest.mark.filterwarnings("ignore:Could not infer format")
def test_add_datepart_names_a_column_that_is_not_a_date():
    with pytest.raises(DataError, match="'town' does not hold dates"):
        add_datepart(pd.DataFrame({"town": ["Lyon", "Paris"]}), "town")
