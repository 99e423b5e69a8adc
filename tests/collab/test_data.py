import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from briskml.collab import CollabData
from briskml.errors import BriskWarning, ConfigError, DataError

SHARED = Path(__file__).resolve().parents[3] / "shared"
MOVIELENS = SHARED / "data" / "movielens-latest-small" / "ratings.csv"
SPLIT = SHARED / "splits" / "mllatest_valid_idx.json"


def test_the_first_three_columns_are_user_item_rating_by_default(ratings):
    data = CollabData.from_df(ratings.assign(extra=1.0), seed=0)
    assert (data.user_name, data.item_name, data.rating_name) == ("user", "item", "rating")


def test_named_columns_are_used_in_any_order(ratings):
    shuffled = ratings[["rating", "item", "user"]]
    data = CollabData.from_df(shuffled, user_name="user", item_name="item", rating_name="rating")
    assert data.n_users == ratings.user.nunique() + 1


def test_codes_come_from_the_training_rows_and_zero_means_unknown(ratings):
    extra = pd.DataFrame({"user": [999], "item": [9999], "rating": [3.0]})
    frame = pd.concat([ratings, extra], ignore_index=True)
    data = CollabData.from_df(frame, valid_idx=[len(frame) - 1])
    assert 999 not in data.users and 9999 not in data.items
    assert data.valid_ratings.users.tolist() == [0]
    assert data.valid_ratings.items.tolist() == [0]
    assert data.train_ratings.users.min() >= 1
    assert data.user_codes([999, ratings.user[0]]).tolist()[0] == 0


def test_a_seeded_split_is_numpys_permutation_of_the_rows(ratings):
    data = CollabData.from_df(ratings, valid_pct=0.2, seed=7)
    expected = np.sort(np.random.RandomState(7).permutation(len(ratings))[:int(0.2 * len(ratings))])
    got = data.valid_ratings.ratings.numpy()
    assert np.allclose(np.sort(got), np.sort(ratings.rating.to_numpy()[expected]))
    assert len(data.valid_ratings) == len(expected)


def test_valid_idx_overrides_valid_pct(ratings):
    data = CollabData.from_df(ratings, valid_pct=0.5, valid_idx=[0, 1, 2])
    assert len(data.valid_ratings) == 3


def test_the_callers_frame_is_not_modified(ratings, item_features):
    before = ratings.copy()
    as_text = ratings.assign(rating=ratings.rating.astype(str))
    as_text_before = as_text.copy()
    features_before = item_features.copy()
    CollabData.from_df(as_text, seed=0)
    CollabData.from_df(ratings, seed=0, item_features=item_features)
    pd.testing.assert_frame_equal(ratings, before)
    pd.testing.assert_frame_equal(as_text, as_text_before)
    pd.testing.assert_frame_equal(item_features, features_before)


def test_batches_hold_codes_and_float_ratings(ratings):
    data = CollabData.from_df(ratings, seed=0, bs=16)
    users, items, targets = next(iter(data.train))
    assert users.dtype == items.dtype == torch.long
    assert targets.dtype == torch.float32 and len(targets) == 16
    assert len(data.train) == len(data.train_ratings) // 16   # the last short batch is dropped


def test_show_batch_decodes_ids_and_titles(ratings, titles):
    data = CollabData.from_df(ratings, seed=0, item_titles=titles)
    shown = data.show_batch(4)
    assert list(shown.columns) == ["user", "item", "title", "rating"]
    assert all(shown.title == [f"Item {i}" for i in shown["item"]])
    assert set(shown.user) <= set(ratings.user)


@pytest.mark.parametrize("form", ["frame", "series", "mapping"])
def test_item_titles_come_as_a_frame_a_series_or_a_mapping(ratings, titles, form):
    given = {"frame": titles, "series": titles.set_index("item")["title"],
             "mapping": dict(zip(titles.item, titles.title, strict=True))}[form]
    data = CollabData.from_df(ratings, seed=0, item_titles=given)
    assert data.titles_of([1003, 5])[0] == "Item 1003"
    assert data.titles_of([1003, 5])[1] is None


def test_missing_columns_are_named_with_the_closest_names(ratings):
    with pytest.raises(DataError, match=r"Column 'score' \(in rating_name\) is not in the "
                                        r"DataFrame; the columns are \['user', 'item', 'rating'\]"):
        CollabData.from_df(ratings, rating_name="score")
    with pytest.raises(DataError, match=r"Column 'items' \(in item_name\) .* closest names: "
                                        r"\['item'\]"):
        CollabData.from_df(ratings, item_name="items")


def test_one_column_cannot_be_two_of_user_item_rating(ratings):
    with pytest.raises(ConfigError, match="'user' is in both user_name and item_name"):
        CollabData.from_df(ratings, user_name="user", item_name="user", rating_name="rating")


def test_ratings_must_be_a_dataframe(ratings):
    with pytest.raises(DataError, match="ratings must be a pandas DataFrame; got dict"):
        CollabData.from_df(ratings.to_dict())


def test_fewer_than_three_columns_need_names():
    with pytest.raises(DataError, match="first three are used"):
        CollabData.from_df(pd.DataFrame({"user": [1], "item": [2]}))


def test_an_empty_frame_is_refused():
    with pytest.raises(DataError, match="empty"):
        CollabData.from_df(pd.DataFrame({"user": [], "item": [], "rating": []}))


def test_non_numeric_ratings_are_counted(ratings):
    bad = ratings.assign(rating=ratings.rating.astype(object))
    bad.loc[[3, 5], "rating"] = "great"
    with pytest.raises(DataError, match=r"'rating' holds non-numeric values, e.g. 'great' at row 3 "
                                        r"\(2 such rows\)"):
        CollabData.from_df(bad)


def test_missing_ratings_are_counted(ratings):
    bad = ratings.copy()
    bad.loc[[1, 2, 3], "rating"] = np.nan
    with pytest.raises(DataError, match=r"3 missing rating\(s\)"):
        CollabData.from_df(bad)


def test_missing_ids_are_counted(ratings):
    bad = ratings.astype({"user": float})
    bad.loc[0, "user"] = np.nan
    with pytest.raises(DataError, match=r"'user' has 1 missing id"):
        CollabData.from_df(bad)


def _with(ratings: pd.DataFrame, column: str, rows: list[int], value: object,
          dtype: object = None) -> pd.DataFrame:
    bad = ratings.astype({column: dtype}) if dtype is not None else ratings.copy()
    bad.loc[rows, column] = value
    return bad


@pytest.mark.parametrize(("column", "value", "dtype", "message"), [
    ("rating", np.nan, None, r"'rating' has 2 missing rating\(s\); drop those rows "
                             r"\(ratings\.dropna\(subset=\['rating'\]\)\)"),
    ("rating", np.inf, None, r"'rating' has 2 infinite rating\(s\); drop those rows"),
    ("rating", -np.inf, None, r"'rating' has 2 infinite rating\(s\)"),
    ("rating", 1e39, None, r"'rating' has 2 rating\(s\) too large for float32.*; rescale"),
    ("rating", pd.NA, "Float64", r"'rating' has 2 missing rating\(s\)"),
    ("rating", None, object, r"'rating' has 2 missing rating\(s\)"),
    ("user", None, object, r"'user' has 2 missing id\(s\); drop or fill those rows"),
    ("item", pd.NA, "string", r"'item' has 2 missing id\(s\)"),
])
@pytest.mark.parametrize("where", ["training", "validation"])
def test_unusable_ratings_or_ids_are_counted_when_the_data_is_built(ratings, column, value,
                                                                    dtype, message, where):
    """Instead of a NaN valid_loss, or a loss that diverges, ten minutes in."""
    valid_idx = [0, 1, 2, 3]
    rows = [1, 3] if where == "validation" else [10, 20]
    with pytest.raises(DataError, match=message):
        CollabData.from_df(_with(ratings, column, rows, value, dtype), valid_idx=valid_idx)


def test_complex_ratings_are_refused(ratings):
    with pytest.raises(DataError, match="'rating' holds complex numbers"):
        CollabData.from_df(ratings.astype({"rating": complex}))


def test_infinite_side_features_are_counted_when_the_data_is_built(ratings, item_features):
    bad = _with(item_features, "year", [3, 31], np.inf)   # a rated item and an unrated one
    with pytest.raises(DataError, match=r"Feature column 'year' has 2 value\(s\) that are "
                                        r"infinite or too large to encode as float32"):
        CollabData.from_df(ratings, item_features=bad)


def test_duplicated_pairs_are_kept_with_a_warning_that_counts_them(ratings):
    doubled = pd.concat([ratings, ratings.head(3)], ignore_index=True)
    with pytest.warns(BriskWarning, match="3 rating"):
        data = CollabData.from_df(doubled, valid_pct=0.0)
    assert len(data.train_ratings) == len(doubled)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bs": 0}, "bs must be a positive integer"),
    ({"valid_pct": 1.5}, "valid_pct must be in"),
    ({"valid_idx": [10**6]}, "outside 0"),
    ({"valid_idx": [0.5]}, "integer row positions"),
])
def test_bad_arguments_are_named(ratings, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        CollabData.from_df(ratings, **kwargs)


def test_all_rows_in_validation_is_refused(ratings):
    with pytest.raises(DataError, match="leaves 0 training ratings of 591"):
        CollabData.from_df(ratings, valid_idx=np.arange(len(ratings)))


def test_valid_idx_holds_the_positions_of_the_validation_ratings(ratings):
    seeded = CollabData.from_df(ratings, valid_pct=0.2, seed=7)
    expected = np.sort(np.random.RandomState(7).permutation(len(ratings))[:int(0.2 * len(ratings))])
    assert seeded.valid_idx.dtype == np.int64 and seeded.valid_idx.tolist() == expected.tolist()
    assert np.allclose(seeded.valid_ratings.ratings.numpy(), ratings.rating.to_numpy()[expected])
    given = CollabData.from_df(ratings, valid_idx=[9, 2, 5])
    assert given.valid_idx.tolist() == [2, 5, 9]
    assert given.valid_ratings.ratings.tolist() == ratings.rating[[2, 5, 9]].tolist()


def test_without_validation_valid_idx_is_empty(ratings):
    data = CollabData.from_df(ratings, valid_pct=0.0)
    assert data.valid is None and data.valid_idx.dtype == np.int64 and len(data.valid_idx) == 0


def test_a_small_share_still_validates_one_rating(ratings):
    data = CollabData.from_df(ratings.head(5), valid_pct=0.1, seed=0)   # int(0.5) would be none
    assert len(data.valid_idx) == 1 and len(data.train_ratings) == 4


def test_counts_and_means_come_from_training_rows(ratings):
    data = CollabData.from_df(ratings, valid_pct=0.0)
    counts = ratings.groupby("item").rating.agg(["size", "mean"])
    codes = data.item_codes(counts.index)
    assert data.item_counts[codes].tolist() == counts["size"].tolist()
    assert np.allclose(data.item_means[codes].numpy(), counts["mean"].to_numpy())
    assert data.item_counts[0] == 0


def test_features_travel_in_batches_and_keep_unknown_ids_features(ratings, item_features):
    frame = pd.concat([ratings, pd.DataFrame({"user": [100], "item": [2000], "rating": [4.0]})],
                      ignore_index=True)
    data = CollabData.from_df(frame, valid_idx=[len(frame) - 1], item_features=item_features)
    _, items, user_x, item_x, _ = next(iter(data.valid))
    assert items.tolist() == [0]                           # unknown to the id embeddings ...
    assert item_x.abs().sum() > 0                          # ... but its features are there
    assert user_x.shape == (1, 0)
    assert item_x.shape[1] == data.item_features.num_features == 1 + 3 + 1


def test_features_of_unrated_ids_do_not_shape_the_encoding(ratings, item_features):
    odd = item_features.copy()
    odd.loc[odd.item == 2000, "genre"] = "western"         # only on an item without ratings
    data = CollabData.from_df(ratings, seed=0, item_features=odd)
    genre = next(c for c in data.item_features.encoder.columns if c.name == "genre")
    assert "western" not in genre.categories


def test_a_features_frame_without_any_rated_id_is_refused(ratings, item_features):
    with pytest.raises(DataError, match="no row for any item"):
        elsewhere = item_features.assign(item=item_features.item + 10**6)
        CollabData.from_df(ratings, item_features=elsewhere)


def test_numbered_feature_columns_are_encoded_by_their_text_name(ratings, item_features):
    numbered = item_features.rename(columns={"year": 5})
    data = CollabData.from_df(ratings, seed=0, item_features=numbered)
    assert data.item_features.encoder.columns[0].name == "5"
    assert data.item_features.table.shape == (33, 1 + 3 + 1)   # row 0, then 32 ids


def test_duplicated_feature_rows_are_refused(ratings, item_features):
    with pytest.raises(DataError, match="more than one row"):
        CollabData.from_df(ratings, item_features=pd.concat([item_features, item_features.head(1)]))


@pytest.mark.skipif(not (MOVIELENS.exists() and SPLIT.exists()),
                    reason="needs ../shared/data/movielens-latest-small and ../shared/splits")
def test_movielens_split_matches_the_benchmark_split():
    ratings = pd.read_csv(MOVIELENS)
    valid_idx = json.loads(SPLIT.read_text())["valid_idx"]
    data = CollabData.from_df(ratings, valid_idx=valid_idx)
    assert (len(data.train_ratings), len(data.valid_ratings)) == (90_753, 10_083)
    assert int((data.valid_ratings.items == 0).sum()) == 369   # unseen movies, as fastai counts
    seeded = CollabData.from_df(ratings, valid_pct=0.1, seed=42)
    assert torch.equal(seeded.valid_ratings.ratings, data.valid_ratings.ratings)


def test_validation_ratings_of_ids_never_seen_in_training_are_counted_in_one_warning():
    ratings = pd.DataFrame({"user": [1, 1, 2, 2, 99], "item": [10, 11, 10, 11, 12],
                            "rating": [1.0, 2.0, 3.0, 4.0, 5.0]})
    expected = r"1 validation rating\(s\) have a 'user' and 1 an 'item'"
    with pytest.warns(BriskWarning, match=expected):
        data = CollabData.from_df(ratings, valid_idx=[4])
    assert data.valid_ratings.users.tolist() == [0] and data.valid_ratings.items.tolist() == [0]
