import numpy as np
import pandas as pd
import pytest

from briskml.errors import ConfigError, DataError
from briskml.frames import check_columns, numeric_column, require_frame


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
