import re

import numpy as np
import pandas as pd
import pytest

from briskml.errors import ConfigError, DataError
from briskml.frames import check_columns, check_unique_columns, numeric_column, require_frame


def test_a_misspelt_column_gets_the_closest_names():
    df = pd.DataFrame({"age": [1], "salary": ["x"]})
    expected = r"Column 'agee' \(in cont_names\) .* closest names: \['age'\]"
    with pytest.raises(DataError, match=expected):
        check_columns(df, {"cont_names": ["agee"]})
    with pytest.raises(DataError, match=r"the columns are \['age', 'salary'\]"):
        check_columns(df, {"y": ["zzz"]})


def test_a_column_named_by_two_arguments_is_refused_unless_allowed():
    df = pd.DataFrame({"age": [1]})
    with pytest.raises(ConfigError, match="'age' is in both cat_names and cont_names"):
        check_columns(df, {"cat_names": ["age"], "cont_names": ["age"]})
    check_columns(df, {"a": ["age"], "b": ["age"]}, distinct=False)


def test_numeric_columns_become_float64_and_text_names_the_first_bad_row():
    values = numeric_column(pd.Series(["1", None, "2.5"]), "price")
    assert values.dtype == np.float64 and np.isnan(values[1]) and values[2] == 2.5
    with pytest.raises(DataError, match=r"'price' holds non-numeric values, e.g. 'ten' at row 1"):
        numeric_column(pd.Series(["1", "ten"]), "price")
    with pytest.raises(DataError, match="holds dates"):
        numeric_column(pd.Series(pd.to_datetime(["2024-01-01"])), "when")


def test_require_frame_refuses_other_types_and_empty_frames():
    with pytest.raises(DataError, match="ratings must be a pandas DataFrame; got list"):
        require_frame([], "ratings")
    with pytest.raises(DataError, match="ratings is empty"):
        require_frame(pd.DataFrame(), "ratings")


def test_duplicated_column_names_are_named_with_the_fix():
    df = pd.concat([pd.DataFrame({"a": [1], "b": [2]}), pd.DataFrame({"a": [3], "c": [4]})],
                   axis=1)
    fix = "ratings = ratings.loc[:, ~ratings.columns.duplicated()]"
    with pytest.raises(DataError, match=r"ratings has more than one column named \['a'\] .*"
                                        + re.escape(fix)):
        check_unique_columns(df, "ratings")
    with pytest.raises(DataError, match="named \\['a'\\]"):
        check_unique_columns(df, "df", ["a", "c"])
    check_unique_columns(df, "df", ["b", "c"])   # only the columns it is asked about


@pytest.mark.parametrize(("values", "message"), [
    (pd.Series(pd.to_timedelta([1, 2], "D")), r"'x' holds durations; .*dt.total_seconds\(\)"),
    (pd.Series([1 + 2j]), "'x' holds complex numbers"),
    (pd.Series([1, ["a"]]), "'x' holds non-numeric values"),
])
def test_values_that_are_not_plain_numbers_are_refused_by_name(values, message):
    with pytest.raises(DataError, match=message):
        numeric_column(values, "x")


def test_numeric_columns_of_nullable_and_boolean_dtypes_become_float64():
    for values in (pd.array([1, None], dtype="Int64"), pd.array([True, None], dtype="boolean"),
                   pd.array([1.5, None], dtype="Float64"), pd.array(["1", None], dtype="str")):
        numbers = numeric_column(pd.Series(values), "x")
        assert numbers.dtype == np.float64 and numbers[0] in (1.0, 1.5) and np.isnan(numbers[1])


def test_the_first_bad_row_is_named_even_with_a_repeated_index():
    values = pd.Series(["1", "x", "y"], index=[7, 7, 8])
    with pytest.raises(DataError, match=r"e.g. 'x' at row 7 \(2 such rows\)"):
        numeric_column(values, "price")
