import numpy as np
import pandas as pd
import pytest

from briskml.errors import DataError
from briskml.tabular import add_datepart, cont_cat_split


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


def test_cont_cat_split_refuses_duplicated_column_names():
    df = pd.concat([pd.DataFrame({"a": [1.0], "b": ["x"]}), pd.DataFrame({"a": [2.0]})], axis=1)
    with pytest.raises(DataError, match=r"more than one column named \['a'\]"):
        cont_cat_split(df)
