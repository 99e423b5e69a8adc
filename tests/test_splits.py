import numpy as np
import pandas as pd
import pytest

from briskml.errors import ConfigError, DataError
from briskml.splits import split, split_rows, valid_col_mask, valid_positions


def test_the_same_seed_and_size_give_the_same_rows_in_every_application():
    train, valid = split_rows(100, valid_pct=0.2, seed=42)
    expected = np.sort(np.random.RandomState(42).permutation(100)[:20])
    assert valid.tolist() == expected.tolist()
    assert sorted([*train, *valid]) == list(range(100))
    assert split(100, valid_pct=0.2, seed=42, what="documents")[1].tolist() == valid.tolist()


def test_a_tiny_set_still_gets_one_validation_row():
    train, valid = split_rows(3, valid_pct=0.1, seed=0)
    assert len(valid) == 1 and len(train) == 2
    assert len(split_rows(3, valid_pct=0.0, seed=0)[1]) == 0


@pytest.mark.parametrize("valid_pct", [1.0, -0.1, "0.2", None])
def test_valid_pct_outside_zero_one_is_refused(valid_pct):
    with pytest.raises(ConfigError, match="valid_pct must be in"):
        split_rows(10, valid_pct=valid_pct)


def test_valid_idx_positions_and_masks_choose_the_rows():
    assert split(5, valid_idx=[4, 0])[1].tolist() == [0, 4]
    mask = np.array([False, True, False, False, True])
    assert split(5, valid_mask=mask)[0].tolist() == [0, 2, 3]


@pytest.mark.parametrize(("valid_idx", "message"), [
    ([0, 7], r"outside 0\.\.4, e\.g\. \[7\]"),
    ([0.5], "integer row positions"),
])
def test_bad_valid_idx_is_explained(valid_idx, message):
    with pytest.raises(ConfigError, match=message):
        valid_positions(valid_idx, 5)


def test_a_split_that_leaves_too_few_training_rows_names_the_items():
    expected = "leaves 1 training ratings of 3; training needs at least 2"
    with pytest.raises(DataError, match=expected):
        split(3, valid_idx=[0, 1], what="ratings", min_train=2)
    with pytest.raises(DataError, match="no documents"):
        split(0, what="documents")
    with pytest.raises(ConfigError, match="not both"):
        split(3, valid_idx=[0], valid_mask=np.zeros(3, dtype=bool))


@pytest.mark.parametrize("values", [[True, False, True], [1, 0, 1], ["yes", " no", "T"],
                                    ["TRUE", "false", "1"]])
def test_a_valid_column_reads_booleans_numbers_and_text(values):
    mask = valid_col_mask(pd.DataFrame({"is_valid": values}), "is_valid")
    assert mask.tolist() == [True, False, True]


def test_a_bad_valid_column_is_named_with_its_values():
    df = pd.DataFrame({"is_valid": ["yes", "maybe"], "other": [1, 2]})
    with pytest.raises(DataError, match=r"--valid-col 'is_valid' must hold .* the first is 'maybe' "
                                        "at row 1"):
        valid_col_mask(df, "is_valid", "--valid-col")
    with pytest.raises(DataError, match="valid_col 'missing' is not a column"):
        valid_col_mask(df, "missing")
    with pytest.raises(DataError, match="missing values"):
        valid_col_mask(pd.DataFrame({"v": [True, None]}), "v")
    assert valid_col_mask(df, None) is None


@pytest.mark.parametrize("values", [
    [True, False, True], [1, 0, 1], [1.0, 0.0, 1.0], ["yes", " no", "T"], ["TRUE", "false", "1"],
    [" Y ", "n", "t"], pd.array([1, 0, 1], dtype="Int64"), pd.array([True, False, True],
                                                                   dtype="boolean"),
    pd.array(["yes", "no", "true"], dtype="str"), pd.Categorical(["y", "n", "y"]),
    np.array([True, 0, "yes"], dtype=object), np.array([1, 0, 1], dtype=np.uint8),
], ids=["bool", "int", "float", "yes/no", "true/false", "y/n/t", "Int64", "boolean", "str",
        "category", "object mix", "uint8"])
def test_every_spelling_of_true_and_false_is_read(values):
    mask = valid_col_mask(pd.DataFrame({"is_valid": values}), "is_valid")
    assert mask.dtype == bool and mask.tolist() == [True, False, True]


@pytest.mark.parametrize(("values", "message"), [
    (["yes", "maybe", "no"], r"1 row\(s\) hold other values, e.g. \['maybe'\]; the first is "
                             "'maybe' at row 1"),
    ([1, 2, 0], r"the first is 2 at row 1"),
    ([0.5, 1.0, 0.0], r"the first is 0\.5 at row 0"),
    (["1.0", "0", "1"], r"the first is '1\.0' at row 0"),
    (["", "no", "yes"], r"the first is '' at row 0"),
    (["yes", "no", "si"], r"the first is 'si' at row 2"),
    ([True, None, False], r"has missing values \(1 row\(s\), the first at row 1\)"),
    ([1.0, np.nan, 0.0], r"has missing values"),
    (pd.array([1, None, 0], dtype="Int64"), r"has missing values"),
    (pd.array([True, None, False], dtype="boolean"), r"has missing values"),
    (pd.array(["yes", None, "no"], dtype="str"), r"has missing values"),
    (pd.to_datetime(["2020-01-01"] * 3), r"must hold true/false"),
], ids=["word", "two", "half", "1.0 text", "empty text", "other language", "None", "NaN",
        "Int64 NA", "boolean NA", "str NA", "dates"])
def test_anything_else_names_the_column_the_value_and_the_row(values, message):
    df = pd.DataFrame({"split": values})
    with pytest.raises(DataError, match=rf"valid_col 'split' .*{message}"):
        valid_col_mask(df, "split")


def test_the_row_is_named_by_position_and_index_label():
    df = pd.DataFrame({"v": ["yes", "x"]}, index=["a", "b"])
    with pytest.raises(DataError, match=r"--valid-col 'v' .* the first is 'x' at row 1 "
                                        r"\(index 'b'\)"):
        valid_col_mask(df, "v", "--valid-col")
