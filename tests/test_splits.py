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
    with pytest.raises(DataError, match=r"--valid-col 'is_valid' must hold .* the first 'maybe' "
                                        "at row 1"):
        valid_col_mask(df, "is_valid", "--valid-col")
    with pytest.raises(DataError, match="valid_col 'missing' is not a column"):
        valid_col_mask(df, "missing")
    with pytest.raises(DataError, match="missing values"):
        valid_col_mask(pd.DataFrame({"v": [True, None]}), "v")
    assert valid_col_mask(df, None) is None
