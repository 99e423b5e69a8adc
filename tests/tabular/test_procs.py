import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.tabular import Categorify, FillMissing, Normalize
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


# ----- infinity is missing ----------------------------------------------------------------------
def test_infinite_values_are_filled_flagged_and_counted_like_missing_ones():
    train = pd.DataFrame({"x": [1.0, np.inf, 3.0, -np.inf, 5.0, np.nan]})
    proc = FillMissing()
    with pytest.warns(BriskWarning, match=r"'x' holds 2 infinite value\(s\) in the training rows; "
                                          r"they are treated as missing: filled with 3 and "
                                          r"flagged in 'x_na'"):
        cat_names, _ = proc.fit(train, [], ["x"])
    out = proc.transform(train)
    assert cat_names == ["x_na"] and proc.fill_values == {"x": 3.0}
    assert out["x"].tolist() == [1.0, 3.0, 3.0, 3.0, 5.0, 3.0]
    assert out["x_na"].tolist() == [False, True, False, True, False, True]
    report = ProcReport()
    proc.transform(pd.DataFrame({"x": [np.inf, np.nan, 2.0]}), report)
    assert report.missing == {"x": 2} and report.infinite == {"x": 1}
    assert report.describe() == "x: 2 missing, 1 of them infinite (filled with 3)"


@pytest.mark.parametrize("strategy", ["median", "mean"])
def test_fill_values_come_from_the_finite_values_only(strategy):
    proc = FillMissing(fill_strategy=strategy)
    with pytest.warns(BriskWarning, match="infinite"):
        proc.fit(pd.DataFrame({"x": [2.0, 4.0, np.inf, np.inf, np.inf]}), [], ["x"])
    assert proc.fill_values == {"x": 3.0}


def test_normalize_is_never_fitted_on_infinite_or_missing_values():
    proc = Normalize()
    proc.fit(pd.DataFrame({"x": [1.0, 2.0, 3.0, np.inf, -np.inf, np.nan]}), [], ["x"])
    assert proc.means == {"x": 2.0} and proc.stds["x"] == pytest.approx(np.std([1.0, 2.0, 3.0]))
    out = proc.transform(pd.DataFrame({"x": [2.0, np.inf, 1e300]}))["x"]
    # Infinity is not a value to scale: it stays missing for the pipeline to refuse or fill.
    assert out.iloc[0] == 0.0 and np.isnan(out.iloc[1]) and np.isfinite(out.iloc[2])


@pytest.mark.parametrize("values", [[5.0, 5.0], [np.nan, np.nan], [np.inf, 7.0]])
def test_normalize_never_divides_by_a_zero_std(values):
    proc = Normalize()
    proc.fit(pd.DataFrame({"x": values}), [], ["x"])
    assert proc.stds == {"x": 1.0}


# ----- odd categorical columns ------------------------------------------------------------------
DATES = pd.Series(pd.to_datetime(["2021-03-01", "2020-01-01 10:30", "2020-01-01", None],
                                 format="mixed"))
DATE_COLUMNS = {
    "datetime": DATES,
    "datetime with a time zone": DATES.dt.tz_localize("Europe/Paris"),
    "timedelta": pd.Series(pd.to_timedelta(["1 days", "2h", None, "1 days"])),
    "Categorical of dates": DATES.astype("category"),
    "datetimes as objects": DATES.astype(object),
}


@pytest.mark.parametrize("values", list(DATE_COLUMNS.values()), ids=list(DATE_COLUMNS))
def test_dates_and_durations_keep_their_codes_through_json_and_as_text(values):
    train = pd.DataFrame({"when": values})
    proc = Categorify()
    proc.fit(train, ["when"], [])
    codes = proc.transform(train)["when"].tolist()
    distinct = values.dropna().nunique()
    assert sorted(set(codes) - {0}) == list(range(1, distinct + 1))
    assert [code == 0 for code in codes] == values.isna().tolist()
    rebuilt = proc_from_json(json.loads(json.dumps(proc_to_json(proc))))
    assert rebuilt.transform(train)["when"].tolist() == codes
    # As a CSV gives them back at predict time: text, and one row at a time.
    as_read = pd.DataFrame({"when": [None if pd.isna(v) else str(v) for v in values]})
    assert rebuilt.transform(as_read)["when"].tolist() == codes
    for row, code in enumerate(codes):
        assert rebuilt.transform(train.iloc[[row]])["when"].tolist() == [code]


def test_dates_are_sorted_in_time_and_unparseable_text_is_unseen():
    proc = Categorify()
    proc.fit(pd.DataFrame({"when": DATES}), ["when"], [])
    assert proc.categories["when"] == ["2020-01-01 00:00:00", "2020-01-01 10:30:00",
                                       "2021-03-01 00:00:00"]
    report = ProcReport()
    codes = proc.transform(pd.DataFrame({"when": ["someday", "2020-01-01", None]}), report)
    assert codes["when"].tolist() == [0, 1, 0]
    assert report.unseen == {"when": 1} and report.unseen_examples == {"when": ["someday"]}
    assert report.missing == {"when": 1}


NULLABLE_COLUMNS = {
    "Int64": pd.array([3, None, 1, 3], dtype="Int64"),
    "boolean": pd.array([True, None, False, True], dtype="boolean"),
    "Float64": pd.array([2.5, None, 1.0, 2.5], dtype="Float64"),
    "str": pd.array(["b", None, "a", "b"], dtype="str"),
    "category": pd.Categorical(["b", None, "a", "b"]),
    "object with pd.NA": pd.array(["b", pd.NA, "a", "b"], dtype=object),
}


@pytest.mark.parametrize("values", list(NULLABLE_COLUMNS.values()), ids=list(NULLABLE_COLUMNS))
def test_nullable_missing_values_are_missing_not_a_category(values):
    train = pd.DataFrame({"c": values})
    proc = Categorify()
    proc.fit(train, ["c"], [])
    assert len(proc.categories["c"]) == 2 and "<NA>" not in map(str, proc.categories["c"])
    assert proc.transform(train)["c"].tolist() == [2, 0, 1, 2]
    json.dumps(proc_to_json(proc))


def test_a_floats_infinity_is_a_missing_category():
    proc = Categorify()
    proc.fit(pd.DataFrame({"c": [1.0, np.inf, 2.0]}), ["c"], [])
    assert proc.categories == {"c": [1.0, 2.0]}
    report = ProcReport()
    assert proc.transform(pd.DataFrame({"c": [-np.inf, 2]}), report)["c"].tolist() == [0, 2]
    assert report.missing == {"c": 1} and not report.unseen


def test_values_that_cannot_be_categories_are_refused_naming_the_column():
    with pytest.raises(DataError, match=r"Column 'tags' .* cannot be categories"):
        Categorify().fit(pd.DataFrame({"tags": [["a"], ["b"]]}), ["tags"], [])
    proc = Categorify()
    proc.fit(pd.DataFrame({"tags": ["a", "b"]}), ["tags"], [])
    with pytest.raises(DataError, match="Column 'tags' holds values that cannot be compared"):
        proc.transform(pd.DataFrame({"tags": [["a"], "b"]}))


def test_booleans_among_numbers_are_compared_as_text():
    # False == 0 in Python: as values, which one a row matched would depend on its neighbours.
    proc = Categorify()
    proc.fit(pd.DataFrame({"c": np.array([0, False, 1], dtype=object)}), ["c"], [])
    assert proc.categories == {"c": ["0", "1", "False"]}
    one_by_one = [proc.transform(pd.DataFrame({"c": np.array([value], dtype=object)}))["c"][0]
                  for value in (0, False, 1)]
    assert one_by_one == [1, 3, 2]
