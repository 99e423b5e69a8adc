import json

import numpy as np
import pandas as pd
import pytest
import torch

from briskml.collab import CollabData, CollabPipeline
from briskml.collab.pipeline import pipeline_state_from_v1
from briskml.errors import ConfigError, DataError
from briskml.pipeline import Pipeline


@pytest.fixture
def data(ratings, titles, item_features) -> CollabData:
    return CollabData.from_df(ratings, valid_pct=0.2, seed=0, item_titles=titles,
                              item_features=item_features)


def rows(users, items) -> pd.DataFrame:
    return pd.DataFrame({"user": users, "item": items})


def test_the_pipeline_keeps_the_pipeline_contract(data):
    assert isinstance(data.pipeline, Pipeline)


def test_it_is_fitted_on_the_training_ratings_only(ratings):
    extra = pd.DataFrame({"user": [999], "item": [9999], "rating": [0.5]})
    frame = pd.concat([ratings, extra], ignore_index=True)
    pipeline = CollabData.from_df(frame, valid_idx=[len(frame) - 1]).pipeline
    assert 999 not in pipeline.users and 9999 not in pipeline.items
    assert pipeline.rating_range == (1.0, 5.0)           # the validation 0.5 is not in it
    assert int(pipeline.user_counts.sum()) == len(ratings)


def test_inputs_are_codes_with_zero_for_unknown_ids(ratings):
    pipeline = CollabData.from_df(ratings, valid_pct=0.0).pipeline
    users, items = pipeline.inputs(rows([100, 5], [1000, 1029]))
    assert users.tolist() == [1, 0] and items.tolist() == [1, 30]
    assert users.dtype == items.dtype == torch.long


def test_coded_pairs_say_which_ids_were_seen(ratings):
    pipeline = CollabData.from_df(ratings, valid_pct=0.0).pipeline
    pairs = pipeline.code_pairs(rows([100, 5, 100, 5], [1000, 1000, 7, 7]))
    assert pairs.unseen().tolist() == ["", "user", "item", "user+item"]
    assert pairs.fallback(False, False).tolist() == [False, True, True, True]
    with pytest.raises(DataError, match=r"1 row\(s\) have a 'user' never seen in training, "
                                        r"e\.g\. \[5\]"):
        pipeline.code_pairs(rows([100, 5], [1000, 1000])).check_all_seen("user", "item")


def test_inputs_carry_side_features_even_for_unknown_ids(data):
    users, items, user_x, item_x = data.pipeline.inputs(rows([100, 100, 100], [1000, 2000, 5]))
    assert users.tolist() == [1, 1, 1] and items.tolist()[1:] == [0, 0]
    assert user_x.shape == (3, 0) and item_x.shape == (3, data.item_features.num_features)
    assert item_x[1].abs().sum() > 0 and item_x[2].abs().sum() == 0


def test_features_of_new_ids_come_from_the_caller(data, item_features):
    new = item_features.iloc[[0]].assign(item=5000)
    pairs = data.pipeline.code_pairs(rows([100], [5000]), item_features=new)
    assert pairs.item_described.tolist() == [True] and not pairs.item_known.any()
    assert pairs.fallback(False, True).tolist() == [False]
    assert pairs.fallback(False, False).tolist() == [True]   # a model that ignores features


def test_features_for_a_side_trained_without_them_are_refused(data):
    with pytest.raises(ConfigError, match="user_features was given, but the learner was trained "
                                          "without them"):
        data.pipeline.inputs(rows([100], [1000]), user_features=pd.DataFrame({"age": [3]}))


@pytest.mark.parametrize(("frame", "error", "message"), [
    (rows([100], [1000]).rename(columns={"item": "items"}), DataError,
     r"Column 'item' \(in item_name\) is not in the DataFrame; closest names: \['items'\]"),
    ([(100, 1000)], DataError, "predict takes a DataFrame with columns 'user' and 'item'"),
])
def test_rows_to_predict_are_checked(data, frame, error, message):
    with pytest.raises(error, match=message):
        data.pipeline.inputs(frame)


def test_decode_gives_one_rating_per_row(data):
    decoded = data.pipeline.decode(torch.tensor([[3.5], [4.25]]))
    assert isinstance(decoded, np.ndarray) and decoded.dtype == np.float32
    assert decoded.tolist() == [3.5, 4.25]


def test_describe_is_json_able_and_names_what_it_learned(data):
    summary = json.loads(json.dumps(data.pipeline.describe()))
    assert summary["columns"] == {"user": "user", "item": "item", "rating": "rating"}
    assert summary["users"] == {"known": 40, "examples": [100, 101, 102]}
    assert summary["items"]["known"] == 30 and summary["items"]["titles"] is True
    assert summary["rating_range"] == [1.0, 5.0]
    assert summary["item_features"] == ["year", "genre", "is_long"]
    assert summary["user_features"] is None
    assert summary["mean_rating"] == pytest.approx(float(data.train_ratings.ratings.mean()))


def test_to_json_and_from_json_round_trip_through_json_text(data):
    state = json.loads(json.dumps(data.pipeline.to_json()))
    again = CollabPipeline.from_json(state)
    assert again.to_json() == state
    query = rows([100, 5, 101], [1000, 2000, 5])
    for before, after in zip(data.pipeline.inputs(query), again.inputs(query), strict=True):
        assert torch.equal(before, after)
    assert again.titles_of([1003, 5]).tolist() == ["Item 1003", None]
    assert torch.equal(again.item_means, data.pipeline.item_means)


def test_a_briskml_0_1_0_state_becomes_todays_json(data):
    today = data.pipeline.to_json()
    titles = today["titles"]
    old = {"names": ["user", "item", "rating"], "titles": [titles["ids"], titles["titles"]],
           "bs": 64, **{key: today[key] for key in (
               "users", "items", "user_counts", "item_counts", "item_means", "rating_range",
               "user_features", "item_features")}}
    assert pipeline_state_from_v1(old) == today
