import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.tabular import Categorify, FillMissing, Normalize, TabularData
from tests.tabular.conftest import CAT_NAMES, CONT_NAMES

# The synthetic rows have missing ages, which the validation rows report in a warning; the tests
# about that warning record it explicitly.
pytestmark = pytest.mark.filterwarnings("ignore::briskml.errors.BriskWarning")


def from_people(df, **kwargs):
    kwargs.setdefault("cat_names", CAT_NAMES)
    kwargs.setdefault("cont_names", CONT_NAMES)
    kwargs.setdefault("y", "bought")
    return TabularData.from_df(df, **kwargs)


def test_a_text_target_makes_classification_with_the_users_labels(people):
    data = from_people(people, valid_pct=0.25, seed=0, bs=64)
    assert data.classes == ["no", "yes"]
    cats, conts, targets = next(iter(data.train))
    assert cats.dtype == torch.int64 and cats.shape == (64, 4)  # + FillMissing's age_na
    assert conts.dtype == torch.float32 and conts.shape == (64, 2)
    assert targets.dtype == torch.int64
    assert data.cat_names == [*CAT_NAMES, "age_na"]


def test_a_numeric_target_makes_regression_and_log_y_takes_its_log(people):
    data = from_people(people, y="spend", log_y=True, valid_pct=0.25, seed=0)
    assert data.pipeline.y_kind == "regression" and data.classes is None
    targets = data.valid.tensors[2]
    assert targets.dtype == torch.float32
    valid_rows = people.iloc[np.flatnonzero(_valid_mask(len(people), 0.25, 0))]
    assert torch.allclose(targets, torch.tensor(np.log(valid_rows["spend"].to_numpy()),
                                                dtype=torch.float32))


def test_y_block_overrides_the_guess(people):
    people = people.assign(grade=np.arange(len(people)) % 3)
    data = from_people(people, y="grade", y_block="category", valid_pct=0.2, seed=0)
    assert data.classes == [0, 1, 2]


def test_several_zero_one_targets_make_a_multi_label_problem(people):
    people = people.assign(likes_tea=people["city"] == "Lyon", likes_cake=people["member"] * 1)
    data = from_people(people, y=["likes_tea", "likes_cake"], valid_pct=0.2, seed=0)
    assert data.pipeline.y_kind == "multi_label"
    assert data.train.tensors[2].shape[1] == 2


def _valid_mask(num_rows, valid_pct, seed):
    mask = np.zeros(num_rows, dtype=bool)
    mask[np.random.RandomState(seed).permutation(num_rows)[:int(valid_pct * num_rows)]] = True
    return mask


def test_valid_pct_uses_numpys_permutation_of_the_seed(people):
    data = from_people(people, valid_pct=0.2, seed=42)
    assert len(data.valid.tensors[0]) == 80
    expected = people["income"][_valid_mask(400, 0.2, 42)].to_numpy()
    decoded = data.pipeline.decode_inputs(*data.valid.tensors[:2])["income"].to_numpy()
    np.testing.assert_allclose(decoded, expected, rtol=1e-5)


def test_valid_idx_picks_the_validation_rows_by_position(people):
    data = from_people(people.set_index(people.index + 1000), valid_idx=[0, 5, 9])
    assert len(data.valid.tensors[0]) == 3 and len(data.train.tensors[0]) == 397


def test_valid_pct_zero_means_no_validation_set(people):
    data = from_people(people, valid_pct=0.0)
    assert data.valid is None
    assert data.valid_idx.dtype == np.int64 and len(data.valid_idx) == 0
    np.testing.assert_array_equal(data.train_idx, np.arange(400))


def test_valid_idx_and_train_idx_give_the_positions_of_the_split(people):
    data = from_people(people, valid_pct=0.25, seed=0)
    np.testing.assert_array_equal(data.valid_idx, np.flatnonzero(_valid_mask(400, 0.25, 0)))
    np.testing.assert_array_equal(data.train_idx, np.flatnonzero(~_valid_mask(400, 0.25, 0)))
    assert data.valid_idx.dtype == np.int64 and data.train_idx.dtype == np.int64
    assert len(data.valid_idx) == data.valid.n and len(data.train_idx) == data.train.n
    with pytest.raises(ValueError, match="read-only"):
        data.valid_idx[0] = 1


def test_valid_idx_given_comes_back_sorted(people):
    data = from_people(people, valid_idx=[9, 0, 5])
    assert data.valid_idx.tolist() == [0, 5, 9]
    assert len(data.train_idx) == 397 and not set(data.train_idx) & {0, 5, 9}


def test_a_tiny_table_still_gets_one_validation_row(people):
    # int(0.2 * 4) is 0 rows; briskml.splits keeps one, so a tiny table is validated at all.
    data = from_people(people.head(4), valid_pct=0.2, seed=0)
    assert len(data.valid_idx) == 1 and data.valid.n == 1 and data.train.n == 3


def test_training_batches_drop_the_last_partial_batch(people):
    data = from_people(people, valid_pct=0.25, seed=0, bs=64)  # 300 training rows
    assert [len(batch[0]) for batch in data.train] == [64, 64, 64, 64]


def test_procs_apply_in_their_own_order_whatever_the_list_order(people):
    shuffled = from_people(people, procs=[Normalize, Categorify, FillMissing], valid_pct=0.2,
                           seed=0)
    ordered = from_people(people, valid_pct=0.2, seed=0)
    for left, right in zip(shuffled.valid.tensors, ordered.valid.tensors, strict=True):
        assert torch.equal(left, right)


def test_from_df_never_modifies_the_dataframe(people):
    people = people.astype({"city": object})
    people.loc[people.index[:3], "city"] = "Atlantis"   # unseen in training: validation rows
    before, test_before = people.copy(), people.head(10).copy()
    test_df = people.head(10)
    with pytest.warns(BriskWarning, match="age: 2 missing"):  # the test rows are checked
        data = from_people(people, valid_idx=[0, 1, 2, 50], test_df=test_df)
    data.test_dl(test_df)
    pd.testing.assert_frame_equal(people, before)
    pd.testing.assert_frame_equal(test_df, test_before)


def _brisk_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, BriskWarning)]


def test_unseen_categories_and_missing_values_in_validation_rows_give_one_warning(people):
    people = people.astype({"city": object})
    people.loc[[0, 1], "city"] = "Atlantis"
    people.loc[[0, 2, 3], "age"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = from_people(people, valid_idx=[0, 1, 2, 3])
    messages = _brisk_warnings(caught)
    assert len(messages) == 1
    assert "in the validation rows: city: 2 unseen categories (e.g. 'Atlantis')" in messages[0]
    assert "age: 3 missing (filled with" in messages[0]
    assert data.valid.tensors[0][:2, 0].tolist() == [0, 0]   # code 0, as at predict time


def test_unknown_error_refuses_validation_rows_the_training_rows_do_not_cover(people):
    people = people.astype({"city": object})
    people.loc[[0], "city"] = "Atlantis"
    with pytest.raises(DataError, match=r"The validation rows hold missing values or categories "
                                        r"not seen in training: city: 1 unseen category"):
        from_people(people.assign(age=30.0), valid_idx=[0, 1], unknown="error")


def test_unknown_ignore_builds_the_validation_rows_silently(people):
    people = people.astype({"city": object})
    people.loc[[0], "city"] = "Atlantis"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_people(people, valid_idx=[0, 1], unknown="ignore")


def test_validation_rows_the_training_rows_cover_give_no_warning(people):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_people(people.assign(age=30.0), valid_pct=0.2, seed=0)


def test_classes_come_from_the_training_rows(people):
    data = from_people(people, valid_idx=np.flatnonzero(people["bought"] == "no")[:5])
    assert data.classes == ["no", "yes"]
    people = people.assign(bought=np.where(np.arange(400) < 200, "yes", "no"))
    with pytest.raises(DataError, match=r"Target 'bought' has label\(s\) \['no'\] in validation "
                                        r"rows but never in training rows; every class needs "
                                        r"training rows"):
        from_people(people, valid_idx=np.arange(200, 400))


def test_a_label_only_in_validation_rows_is_named(people):
    people = people.astype({"bought": object})
    people.loc[[7, 8], "bought"] = "maybe"
    with pytest.raises(DataError, match=r"'bought' has label\(s\) \['maybe'\] in validation"):
        from_people(people, valid_idx=[7, 8, 9])
    assert from_people(people, valid_idx=[9]).classes == ["maybe", "no", "yes"]


def test_each_processor_transforms_the_training_rows_once(people, monkeypatch):
    calls = {}
    for proc_class in (FillMissing, Categorify, Normalize):
        def spy(self, df, report=None, _transform=proc_class.transform):
            calls.setdefault(type(self).__name__, []).append(len(df))
            return _transform(self, df, report)
        monkeypatch.setattr(proc_class, "transform", spy)
    data = from_people(people, valid_pct=0.25, seed=0, test_df=people.head(7))
    # 300 training rows while fitting, then the 100 validation rows and the 7 test rows.
    assert calls == {"FillMissing": [300, 100, 7], "Categorify": [300, 100, 7],
                     "Normalize": [300, 100, 7]}
    assert data.train.n == 300


def test_the_training_tensors_equal_the_rows_processed_by_the_fitted_pipeline(people):
    data = from_people(people, valid_pct=0.25, seed=0)
    cats, conts = data.pipeline.inputs(people.iloc[data.train_idx], unknown="ignore")
    assert torch.equal(data.train.tensors[0], cats)
    assert torch.equal(data.train.tensors[1], conts)
    assert torch.equal(data.train.tensors[2],
                       data.pipeline.targets(people.iloc[data.train_idx]))


def test_the_test_set_is_processed_with_the_training_state(people):
    data = from_people(people, valid_pct=0.2, seed=0,
                       test_df=people.head(5).drop(columns="bought").assign(age=30.0))
    assert not data.test.has_target and len(data.test.tensors) == 2
    assert len(data.test.tensors[0]) == 5


def test_from_csv_reads_with_the_given_options(tmp_path, people):
    path = tmp_path / "people.csv"
    people.to_csv(path, index=False, sep=";")
    data = TabularData.from_csv(path, y="bought", cat_names=CAT_NAMES, cont_names=CONT_NAMES,
                                read_csv_kwargs={"sep": ";"}, valid_pct=0.2, seed=0)
    assert len(data.train.tensors[0]) == 320


def test_both_name_lists_omitted_are_guessed(people):
    data = TabularData.from_df(people.drop(columns="spend"), y="bought", valid_pct=0.2, seed=0)
    assert data.pipeline.cat_names == ["city", "size", "member"]
    assert data.pipeline.cont_names == ["age", "income"]


def test_show_batch_decodes_categories_and_values(people):
    data = from_people(people, valid_pct=0.2, seed=0)
    table = data.show_batch(5, ds="valid")
    assert list(table.columns) == [*CAT_NAMES, "age_na", *CONT_NAMES, "bought"]
    valid_rows = people[_valid_mask(400, 0.2, 0)].head(5)
    assert table["city"].tolist() == valid_rows["city"].tolist()
    assert table["bought"].tolist() == valid_rows["bought"].tolist()
    np.testing.assert_allclose(table["income"], valid_rows["income"], rtol=1e-5)
    normalized = data.show_batch(5, ds="valid", normalized=True)
    assert abs(normalized["income"]).max() < 10


# ----- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("argument", "value", "closest"), [
    ("y", "bougth", "bought"),
    ("cat_names", ["cty"], "city"),
    ("cont_names", ["incme"], "income"),
])
def test_a_missing_column_lists_the_closest_names(people, argument, value, closest):
    with pytest.raises(DataError, match=rf"in {argument}\) is not in the DataFrame; "
                                        rf"closest names: \['{closest}'"):
        from_people(people, **{argument: value})


def test_a_continuous_column_with_text_names_a_bad_value(people):
    people = people.astype({"income": object})
    people.loc[7, "income"] = "lots"
    with pytest.raises(DataError, match=r"'income' holds non-numeric values, e.g. 'lots' at row "
                                        r"7 \(1 such rows\)"):
        from_people(people)


def test_a_target_with_missing_values_says_how_many_rows(people):
    people.loc[[3, 9], "bought"] = None
    with pytest.raises(DataError, match=r"missing values in 2 row\(s\), e.g. rows \[3, 9\]"):
        from_people(people)


def test_an_empty_dataframe_is_refused(people):
    with pytest.raises(DataError, match="empty"):
        from_people(people.iloc[:0])


def test_a_split_without_training_rows_is_refused(people):
    with pytest.raises(DataError, match="leaves 0 training row"):
        from_people(people, valid_idx=np.arange(len(people)))


def test_valid_idx_out_of_range_is_refused(people):
    # A ConfigError since the split moved to briskml.splits: valid_idx is an argument.
    with pytest.raises(ConfigError, match=r"valid_idx holds positions outside 0\.\.399"):
        from_people(people, valid_idx=[3, 400])


def test_a_column_used_twice_is_refused(people):
    with pytest.raises(ConfigError, match="'age' is in both cat_names and cont_names"):
        from_people(people, cat_names=["city", "age"])


def test_categorical_columns_without_categorify_are_refused(people):
    with pytest.raises(ConfigError, match="need Categorify"):
        from_people(people, procs=[FillMissing, Normalize])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_missing_or_infinite_continuous_values_without_fill_missing_are_refused(people, bad):
    people.loc[3, "income"] = bad
    with pytest.raises(DataError, match=r"\['age', 'income'\] have missing or infinite values "
                                        "and procs has no FillMissing"):
        from_people(people, procs=[Categorify, Normalize], valid_idx=range(380, 400))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bs": 0}, "bs must be a positive integer; got 0"),
    ({"val_bs": 2.5}, "val_bs must be a positive integer; got 2.5"),
    ({"valid_pct": 1.0}, r"valid_pct must be in \[0, 1\); got 1.0"),
    ({"unknown": "drop"}, "unknown must be one of 'warn', 'error', 'ignore'; got 'drop'"),
    ({"y_block": "classes"}, "y_block must be one of 'category', 'regression', 'multi_label'"),
])
def test_bad_arguments_are_named(people, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        from_people(people, **kwargs)


def test_a_string_instead_of_a_list_of_names_is_refused(people):
    with pytest.raises(ConfigError, match="must be a list of column names"):
        from_people(people, cat_names="city")


# ----- rows a model cannot learn from or be scored on --------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_validation_target_that_is_missing_or_infinite_is_refused(people, bad):
    people.loc[[390, 395], "spend"] = bad
    with pytest.raises(DataError, match=r"Target 'spend' has missing or infinite values in 2 "
                                        r"row\(s\), e.g. rows \[390, 395\] \(0 of them training "
                                        r"rows\).*Drop those rows first"):
        from_people(people, y="spend", valid_idx=range(380, 400))


def test_a_training_target_that_is_infinite_is_refused(people):
    people.loc[3, "spend"] = -np.inf
    with pytest.raises(DataError, match=r"in 1 row\(s\), e.g. rows \[3\] \(1 of them training"):
        from_people(people, y="spend", valid_idx=range(380, 400))


def test_test_rows_with_a_missing_target_say_so(people):
    test_df = people.head(10).assign(bought=[None, *["no"] * 9])
    with pytest.raises(DataError, match=r"missing values in 1 row\(s\) of the test rows"):
        from_people(people, test_df=test_df)


def test_infinite_inputs_are_filled_and_counted_in_the_validation_warning(people):
    people["income"] = people["income"].where(~people.index.isin([2, 390]), np.inf)
    with pytest.warns(BriskWarning) as caught:
        data = from_people(people, valid_idx=range(380, 400))
    messages = [str(warning.message) for warning in caught]
    assert any("'income' holds 1 infinite value(s) in the training rows" in message
               for message in messages)
    assert any("in the validation rows" in message and "income: 1 missing, 1 of them infinite"
               in message for message in messages)
    for loader in (data.train, data.valid):
        assert torch.isfinite(loader.tensors[1]).all()
    assert "income_na" in data.cat_names


def test_a_classifier_with_one_class_and_duplicated_columns_are_refused(people):
    with pytest.raises(DataError, match="one class in the training rows"):
        from_people(people.assign(bought="yes"))
    doubled = pd.concat([people, people[["city"]]], axis=1)
    with pytest.raises(DataError, match=r"more than one column named \['city'\]"):
        from_people(doubled)
    with pytest.raises(DataError, match=r"more than one column named \['city'\]"):
        TabularData.from_df(doubled, y="bought")   # the columns guessed from all of them
