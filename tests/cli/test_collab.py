"""`briskml collab train | recommend` and `briskml lr-find collab`, driven as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import briskml as bm
from briskml.collab import CollabData
from tests.cli.conftest import MOVIES, RATINGS, info_lines, run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0"


def recommended_ids(stdout: str) -> list[int]:
    """The movieId column of `collab recommend`'s table."""
    lines = stdout.strip().splitlines()
    assert lines[0].split()[0] == "movieId"
    return [int(line.split()[0]) for line in lines[1:]]


def test_train_makes_the_same_model_as_the_python_api(tmp_path):
    result = run_cli("collab", "train", RATINGS, "--user", "userId", "--item", "movieId",
                     "--rating", "rating", "--titles", MOVIES, "--y-range", "0", "5.5",
                     "--epochs", "1", "--bs", "1024", "--seed", "42", "--out", tmp_path / "m.brisk")
    assert result.code == 0, result.stderr
    assert "rmse" in result.stdout and "exported" in result.stdout

    ratings, movies = pd.read_csv(RATINGS), pd.read_csv(MOVIES)
    data = CollabData.from_df(ratings, item_titles=movies, valid_pct=0.1, seed=42, bs=1024)
    learn = bm.collab_learner(data, n_factors=50, y_range=(0, 5.5), wd=0.1, seed=42,
                              progress=False)
    learn.fit_one_cycle(1, 5e-3)
    pairs = ratings.head(100)
    by_cli = bm.load_learner(tmp_path / "m.brisk").predict(pairs)
    pd.testing.assert_frame_equal(by_cli, learn.predict(pairs), atol=1e-4, rtol=0)


def test_recommend_leaves_out_what_the_user_rated_and_shows_titles(movies_model):
    rated = set(pd.read_csv(RATINGS).query("userId == 1")["movieId"])
    result = run_cli("collab", "recommend", movies_model, "--user", "1", "-n", "5",
                     "--seen", RATINGS, "--exclude", "1,2")
    assert result.code == 0, result.stderr
    ids = recommended_ids(result.stdout)
    assert len(ids) == 5 and not set(ids) & (rated | {1, 2})
    assert "title" in result.stdout.splitlines()[0]
    everything = recommended_ids(run_cli("collab", "recommend", movies_model, "--user", "1",
                                         "-n", "300").stdout)
    assert set(everything) & rated  # without --seen the rated movies compete too


def test_a_user_never_seen_gets_the_average_users_list_with_one_warning(movies_model):
    result = run_cli("collab", "recommend", movies_model, "--user", "999999", "-n", "3")
    assert result.code == 0
    assert result.stderr == ("warning: User 999999 was not seen in training; these are the "
                             "average user's recommendations.\n")
    assert len(recommended_ids(result.stdout)) == 3


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "abc"], "--user takes one of the model's integer ids (e.g. [1, 4, 6]); got 'abc'"),
    (["--user", "1", "--exclude", "x"], "--exclude takes one of the model's integer ids"),
])
def test_recommend_rejects_ids_of_the_wrong_type(movies_model, args, message):
    result = run_cli("collab", "recommend", movies_model, *args)
    assert result.code == 2 and message in result.stderr


def test_recommend_needs_a_collab_model(adult_model):
    result = run_cli("collab", "recommend", adult_model, "--user", "1")
    assert result.code == 2
    assert "holds a tabular model; collab recommend needs one" in result.stderr


def test_a_titles_file_without_the_columns_names_them(tmp_path):
    pd.read_csv(MOVIES).rename(columns={"title": "name"}).to_csv(tmp_path / "m.csv", index=False)
    result = run_cli("collab", "train", RATINGS, "--titles", tmp_path / "m.csv",
                     "--out", tmp_path / "x.brisk")
    assert result.code == 2
    assert "lacks the column(s) ['title']" in result.stderr and "--title-col" in result.stderr
    ok = run_cli("collab", "train", RATINGS, "--titles", tmp_path / "m.csv", "--title-col",
                 "name", "--epochs", "1", "--bs", "1024", "--out", tmp_path / "x.brisk")
    assert ok.code == 0, ok.stderr


def test_use_nn_trains_the_embedding_mlp(tmp_path):
    result = run_cli("collab", "train", RATINGS, "--use-nn", "--layers", "20,10", "--epochs", "1",
                     "--bs", "1024", "--out", tmp_path / "nn.brisk")
    assert result.code == 0, result.stderr
    assert type(bm.load_learner(tmp_path / "nn.brisk").model).__name__ == "EmbeddingNN"


def test_lr_find_collab_prints_the_suggestions(tmp_path):
    result = run_cli("lr-find", "collab", RATINGS, "--y-range", "0", "5.5", "--bs", "1024",
                     "--num-it", "15", "--plot", tmp_path / "lr.png")
    assert result.code == 0, result.stderr
    assert "valley" in result.stdout and (tmp_path / "lr.png").is_file()


def test_info_describes_a_collab_model_from_its_pipeline(movies_model):
    lines = info_lines(movies_model)
    assert lines["columns"] == "user=userId, item=movieId, rating=rating"
    assert lines["items"].startswith("known=300, examples=") and "titles=True" in lines["items"]
    assert lines["rating range"] == "2: 0.5, 5.0"


def test_info_and_predict_read_a_briskml_0_1_0_collab_file(tmp_path):
    model = FIXTURES / "collab_dot.brisk"
    lines = info_lines(model)
    assert lines["columns"] == "user=user, item=item, rating=rating"
    assert lines["users"] == "known=30, examples=[1, 2, 3]"
    pd.DataFrame({"user": [1, 99], "item": [1, 1]}).to_csv(tmp_path / "pairs.csv", index=False)
    result = run_cli("predict", model, tmp_path / "pairs.csv")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "user,item,prediction,unseen,fallback"
    assert lines[2].endswith(",user,True")
    expected = bm.load_learner(model).predict(pd.DataFrame({"user": [1], "item": [1]}))
    assert float(lines[1].split(",")[2]) == pytest.approx(expected.prediction[0], abs=1e-5)


def test_predict_strict_refuses_unseen_ids(movies_model, tmp_path):
    pd.DataFrame({"userId": [1, 99999], "movieId": [1, 1]}).to_csv(tmp_path / "p.csv", index=False)
    result = run_cli("predict", movies_model, tmp_path / "p.csv", "--strict")
    assert result.code == 2
    assert "1 row(s) have a 'userId' never seen in training, e.g. [99999]" in result.stderr


def test_the_exported_json_holds_the_pipeline(movies_model):
    document = json.loads(run_cli("info", movies_model, "--json").stdout)
    assert document["export_version"] == 2 and "extra" not in document
    assert document["pipeline"]["columns"]["item"] == "movieId"
