import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import briskml as bm
from briskml.collab import CollabData, CollabLearner, EmbeddingHybrid, EmbeddingNN, collab_learner
from briskml.errors import BriskWarning, ConfigError, DataError, FileFormatError
from briskml.persist import read_bundle, write_bundle
from tests.collab.conftest import make_ratings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0"


def fixture_ratings(seed: int = 0, rows: int = 400) -> pd.DataFrame:
    """The ratings the 0.1.0 collab fixtures were trained on (make_fixtures.py's `ratings`, copied
    so this test does not import the other applications that script builds)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user": rng.integers(1, 31, rows), "item": rng.integers(1, 21, rows),
                         "rating": rng.integers(1, 6, rows).astype(float)})


@pytest.fixture
def data(ratings, titles) -> CollabData:
    return CollabData.from_df(ratings, valid_pct=0.2, seed=0, bs=32, item_titles=titles)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> CollabLearner:
    """One trained learner shared by the tests that only read from it (training takes a while)."""
    ratings = make_ratings()
    titles = {item: f"Item {item}" for item in ratings["item"].unique()}
    data = CollabData.from_df(ratings, valid_pct=0.2, seed=0, bs=32, item_titles=titles)
    learn = collab_learner(data, n_factors=8, y_range=(0, 5.5), wd=0.1, seed=0, progress=False,
                           path=tmp_path_factory.mktemp("trained"))
    learn.fit_one_cycle(4, 3e-2)
    return learn


def pairs(users, items) -> pd.DataFrame:
    return pd.DataFrame({"user": users, "item": items})


@pytest.mark.parametrize("options", [{}, {"sparse": False}])
def test_training_beats_predicting_the_mean(data, options):
    learn = collab_learner(data, n_factors=8, y_range=(0, 5.5), wd=0.1, seed=0, progress=False,
                           **options)
    learn.fit_one_cycle(5, 3e-2)
    mean_rmse = float((data.valid_ratings.ratings - data.train_ratings.ratings.mean()).pow(2)
                      .mean().sqrt())
    assert learn.validate()["rmse"] < 0.8 * mean_rmse


def test_the_default_metric_is_rmse_and_the_loss_mse(trained):
    results = trained.validate()
    assert results["rmse"] == pytest.approx(results["valid_loss"] ** 0.5, rel=1e-4)


def test_predict_returns_ratings_titles_and_marks_unseen_rows(trained, ratings):
    known_user, known_item = ratings.user[0], ratings.item[0]
    frame = pairs([known_user, 12345, known_user, 12345], [known_item, known_item, 777, 777])
    result = trained.predict(frame)
    assert result.unseen.tolist() == ["", "user", "item", "user+item"]
    assert result.fallback.tolist() == [False, True, True, True]
    assert result.title[0] == f"Item {known_item}"
    assert result.prediction.between(0, 5.5).all()


def test_an_unseen_item_is_predicted_as_the_average_item(trained, ratings):
    user = ratings.user[0]
    result = trained.predict(pairs([user], [777]))
    average = trained.predict(pairs([user] * 30, list(range(1000, 1030)))).prediction
    assert average.min() < result.prediction[0] < average.max()


def test_unknown_error_names_the_unseen_ids(trained, ratings):
    with pytest.raises(DataError, match=r"1 row\(s\) have a 'item' never seen in training, e\.g\. "
                                        r"\[777\]"):
        trained.predict(pairs([ratings.user[0]], [777]), unknown="error")


def test_predict_checks_its_arguments(trained):
    with pytest.raises(ConfigError, match="unknown must be one of"):
        trained.predict(pairs([1], [1]), unknown="ignore")
    with pytest.raises(DataError, match=r"Column 'item' \(in item_name\) is not in the "
                                        r"DataFrame"):
        trained.predict(pd.DataFrame({"user": [1]}))


def test_predict_leaves_the_callers_frame_alone(trained, ratings):
    frame = pairs([ratings.user[0], 999], [ratings.item[1], 777]).set_index(pd.Index([5, 3]))
    before = frame.copy()
    result = trained.predict(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert list(result.index) == [5, 3]


def test_predict_of_no_rows_gives_an_empty_table(trained):
    result = trained.predict(pairs([], []))
    assert len(result) == 0 and "prediction" in result.columns


def test_predict_table_gives_the_prediction_columns(trained, ratings):
    frame = pairs([ratings.user[0], 999], [ratings.item[1], ratings.item[2]]).assign(title="x")
    table = trained.predict_table(frame)
    assert list(table.columns) == ["prediction", "unseen", "fallback"]
    assert table.prediction.tolist() == trained.predict(frame).prediction.tolist()
    assert "title" in trained.predict_table(frame.drop(columns="title")).columns
    with pytest.raises(DataError, match="never seen in training"):
        trained.predict_table(frame, strict=True)
    with pytest.raises(ConfigError, match="text_cols is for text classifiers"):
        trained.predict_table(frame, text_cols=["user"])


def test_get_preds_decodes_ratings_and_gives_each_ratings_loss(trained, data):
    preds, targets, decoded, losses = trained.get_preds(with_decoded=True, with_loss=True)
    assert isinstance(decoded, np.ndarray) and np.allclose(decoded, preds.numpy())
    assert torch.equal(targets, data.valid_ratings.ratings)
    assert torch.allclose(losses, (preds - targets) ** 2, atol=1e-6)
    assert losses.mean().item() == pytest.approx(trained.validate()["valid_loss"], rel=1e-5)


def test_describe_is_json_able_and_holds_the_pipeline(trained):
    summary = json.loads(json.dumps(trained.describe()))
    assert summary["kind"] == "collab" and summary["model"] == "EmbeddingDotBias"
    assert summary["pipeline"]["items"] == {"known": 30, "examples": [1000, 1001, 1002],
                                            "titles": True}
    assert trained.pipeline is trained.data.pipeline


def test_predict_matches_get_preds_on_the_validation_rows(trained, data):
    preds, _ = trained.get_preds()
    users = data.user_ids(data.valid_ratings.users)
    items = data.item_ids(data.valid_ratings.items)
    frame = pairs(users, items)
    assert np.allclose(trained.predict(frame).prediction.to_numpy(), preds.numpy(), atol=1e-5)


def test_recommend_leaves_out_what_the_user_rated(trained, ratings):
    user = ratings.user[0]
    code = int(trained.data.user_codes([user])[0])
    seen = set(trained.data.item_ids(trained.data.seen_items(code)))
    top = trained.recommend(user, n=5)
    assert len(top) == 5 and not seen & set(top["item"])
    assert list(top.columns) == ["item", "title", "prediction", "num_ratings"]
    assert top.prediction.is_monotonic_decreasing
    everything = trained.recommend(user, n=100, exclude_seen=False)
    assert len(everything) == 30


def test_recommend_for_an_unseen_user_warns_and_gives_the_average_users_list(trained):
    with pytest.warns(BriskWarning, match="not seen in training"):
        top = trained.recommend(424242, n=3, exclude=[1000])
    assert 1000 not in set(top["item"])


def test_similar_items_are_ranked_by_cosine_and_exclude_the_item(trained):
    similar = trained.similar_items(1003, n=4)
    assert 1003 not in set(similar["item"]) and len(similar) == 4
    assert similar.similarity.is_monotonic_decreasing


def test_interpretation_gives_biases_factors_and_rankings(trained):
    biases = trained.bias([1000, 1001])
    assert list(biases.index) == [1000, 1001]
    assert trained.weight([1000]).shape == (1, 8)
    top = trained.top_items(by="bias", n=3, min_ratings=5)
    assert len(top) == 3 and top.bias.is_monotonic_decreasing
    assert (top.num_ratings >= 5).all()
    assert top.title.str.startswith("Item").all()
    assert trained.bias([1000], is_item=True).name == "bias"


def test_interpretation_refuses_ids_it_never_saw(trained):
    with pytest.raises(DataError, match=r"1 item id\(s\) were not seen in training, e\.g\. \[5\]"):
        trained.bias([1000, 5])


def test_pca_and_its_plot(trained, tmp_path):
    positions = trained.pca(n_components=3)
    assert list(positions.columns) == ["title", "pc_0", "pc_1", "pc_2"]
    assert len(positions) == 30
    figure = trained.plot_pca(components=(0, 2), path=tmp_path / "pca.png", n_labels=10)
    assert (tmp_path / "pca.png").stat().st_size > 1000
    assert len(figure.axes[0].texts) == 10


def test_the_nn_model_has_no_biases_to_show(data):
    learn = collab_learner(data, use_nn=True, layers=[8], progress=False)
    assert isinstance(learn.model, EmbeddingNN)
    with pytest.raises(ConfigError, match="has no biases"):
        learn.bias([1000])


def test_export_and_load_learner_predict_the_same_with_titles(trained, ratings, tmp_path):
    frame = pairs([ratings.user[0], 999], [ratings.item[1], ratings.item[2]])
    before = trained.predict(frame)
    path = trained.export("collab.brisk", overwrite=True)
    loaded = bm.load_learner(path)
    assert isinstance(loaded, CollabLearner)
    assert loaded.pipeline.to_json() == trained.pipeline.to_json()
    _, document = read_bundle(path)
    assert document["export_version"] == 2 and "extra" not in document
    assert document["pipeline"]["columns"] == {"user": "user", "item": "item", "rating": "rating"}
    pd.testing.assert_frame_equal(loaded.predict(frame), before)
    assert loaded.similar_items(1003, n=3).title.str.startswith("Item").all()
    pd.testing.assert_frame_equal(loaded.top_items(n=5), trained.top_items(n=5))


def test_a_loaded_learner_asks_for_the_items_to_exclude(trained, ratings):
    loaded = bm.load_learner(trained.export("collab.brisk", overwrite=True))
    with pytest.raises(ConfigError, match="exclude_seen=False"):
        loaded.recommend(ratings.user[0])
    assert len(loaded.recommend(ratings.user[0], n=3, exclude_seen=False, exclude=[1000])) == 3


def test_recommend_with_every_item_left_out_is_empty(trained, ratings):
    everything = list(range(1000, 1030))
    assert len(trained.recommend(ratings.user[0], exclude_seen=False, exclude=everything)) == 0


@pytest.mark.parametrize("name", ["collab_dot", "collab_nn"])
def test_a_briskml_0_1_0_export_loads_and_predicts_as_it_did(name):
    learn = bm.load_learner(FIXTURES / f"{name}.brisk")
    assert isinstance(learn, CollabLearner)
    query = fixture_ratings().head(5)[["user", "item"]]
    expected = json.loads((FIXTURES / "expected.json").read_text())[name]
    np.testing.assert_allclose(learn.predict(query).prediction, expected, atol=1e-5, rtol=0)
    assert learn.pipeline.rating_range == (1.0, 5.0) and learn.pipeline.n_items == 21


def test_a_damaged_briskml_0_1_0_export_asks_for_a_new_one(tmp_path):
    tensors, document = read_bundle(FIXTURES / "collab_dot.brisk")
    del document["extra"]["data"]["users"]
    write_bundle(tmp_path / "old.brisk", tensors, document)
    with pytest.raises(FileFormatError, match=r"exported by briskml 0\.1\.0 .* re-export it"):
        bm.load_learner(tmp_path / "old.brisk")


def test_save_and_load_keep_the_lazy_adam_state(data, tmp_path):
    learn = collab_learner(data, n_factors=4, progress=False, path=tmp_path)
    learn.fit(1, 1e-2)
    learn.save("checkpoint")
    moments = learn.opt.state[learn.model.items.weight]["moments"].clone()
    learn.fit(1, 1e-2)
    learn.load("checkpoint")
    assert torch.equal(learn.opt.state[learn.model.items.weight]["moments"], moments)


def test_the_hybrid_personalises_unseen_items_with_features(ratings, item_features, tmp_path):
    data = CollabData.from_df(ratings, valid_pct=0.2, seed=0, bs=32, item_features=item_features)
    learn = collab_learner(data, n_factors=8, y_range=(0, 5.5), use_features=True, seed=0,
                           progress=False, path=tmp_path)
    assert isinstance(learn.model, EmbeddingHybrid)
    learn.fit_one_cycle(2, 3e-2)
    new_item = item_features.iloc[[0]].assign(item=5000, genre="horror")
    frame = pairs([ratings.user[0]] * 3, [2000, 5000, 6000])
    result = learn.predict(frame, item_features=new_item)
    assert result.unseen.tolist() == ["item"] * 3
    assert result.fallback.tolist() == [False, False, True]
    loaded = bm.load_learner(learn.export("hybrid.brisk"))
    again = loaded.predict(frame, item_features=new_item)
    assert np.allclose(again.prediction, result.prediction, atol=1e-6)
    assert 2000 in set(learn.recommend(ratings.user[0], n=40)["item"])   # unrated, has features


def test_use_features_needs_features(data):
    with pytest.raises(ConfigError, match="needs side features"):
        collab_learner(data, use_features=True)


def test_a_y_range_that_misses_the_ratings_is_warned_about(data):
    with pytest.warns(BriskWarning, match=r"does not strictly contain the observed ratings \(min "
                                          r"1\.0, max 5\.0\)"):
        collab_learner(data, y_range=(1, 5), progress=False)


def test_a_torch_optimizer_name_needs_dense_embeddings(data):
    with pytest.raises(ConfigError, match="sparse=False"):
        collab_learner(data, opt_func="sgd")
    learn = collab_learner(data, opt_func="sgd", sparse=False, progress=False)
    learn.fit(1, 1e-2)


def test_collab_learner_needs_collab_data():
    with pytest.raises(ConfigError, match="CollabData"):
        collab_learner(bm.DataLoaders(bm.TensorLoader(torch.zeros(4), torch.zeros(4))))


@pytest.mark.parametrize("options", [{"n_factors": 20}, {"use_nn": True, "layers": [50]}])
def test_the_sample_trains_end_to_end(sample, options):
    ratings, movies = sample
    data = CollabData.from_df(ratings, item_titles=movies, valid_pct=0.1, seed=42, bs=1024)
    learn = collab_learner(data, y_range=(0, 5.5), wd=0.1, seed=0, progress=False, **options)
    learn.fit_one_cycle(3, 1e-2)
    assert learn.validate()["rmse"] < 0.9        # predicting the mean scores 0.97
    assert learn.recommend(ratings.userId[0], n=3).title.notna().all()


def test_a_seed_fixes_the_initial_weights_whatever_ran_before(data):
    first = collab_learner(data, n_factors=4, seed=3, progress=False)
    torch.rand(10)                                          # move the global generator on
    second = collab_learner(data, n_factors=4, seed=3, progress=False)
    assert torch.equal(first.model.items.weight, second.model.items.weight)
