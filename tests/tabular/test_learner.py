import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import briskml as bm
from briskml.errors import BriskWarning, ConfigError, DataError, FileFormatError
from briskml.persist import read_bundle
from briskml.tabular import TabularData, TabularLearner, tabular_learner
from tests.tabular.conftest import CAT_NAMES, CONT_NAMES, make_people

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0"

# The synthetic rows have missing ages, which predict counts in a warning; the tests about that
# warning record it explicitly.
pytestmark = pytest.mark.filterwarnings("ignore::briskml.errors.BriskWarning")


def make_data(df, y="bought", **kwargs):
    kwargs.setdefault("valid_pct", 0.25)
    kwargs.setdefault("seed", 0)
    kwargs.setdefault("bs", 64)
    return TabularData.from_df(df, y=y, cat_names=CAT_NAMES, cont_names=CONT_NAMES, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A classifier trained for a few epochs on the synthetic people (shared: do not train it)."""
    people = make_people()
    data = make_data(people, test_df=people.head(20).drop(columns="bought").assign(age=30.0))
    learn = tabular_learner(data, layers=[32, 16], metrics=bm.accuracy, seed=0, progress=False,
                            path=tmp_path_factory.mktemp("trained"))
    learn.fit_one_cycle(6, 2e-2)
    return learn


def test_a_classifier_learns_the_synthetic_rule(trained):
    assert trained.validate()["accuracy"] > 0.8
    assert isinstance(trained, TabularLearner) and trained.kind == "tabular"


def test_predict_takes_a_dataframe_and_returns_labels_and_probabilities(trained, people):
    rows = people.iloc[10:20]
    before = rows.copy()
    result = trained.predict(rows)
    pd.testing.assert_frame_equal(rows, before)
    assert list(result.columns) == ["prediction", "probability_no", "probability_yes"]
    assert result.index.equals(rows.index)
    assert set(result["prediction"]) <= {"no", "yes"}
    probabilities = result[["probability_no", "probability_yes"]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    expected = np.where(probabilities[:, 1] > probabilities[:, 0], "yes", "no")
    assert result["prediction"].tolist() == expected.tolist()


def test_predict_matches_get_preds_on_the_validation_rows(trained, people):
    probabilities, _ = trained.get_preds()
    valid_rows = people.iloc[np.sort(np.random.RandomState(0).permutation(400)[:100])]
    result = trained.predict(valid_rows)
    np.testing.assert_allclose(result["probability_yes"], probabilities[:, 1].numpy(), atol=1e-5)


@pytest.mark.parametrize("as_row", [lambda row: row, lambda row: row.to_dict()],
                         ids=["series", "dict"])
def test_predict_takes_one_row_as_a_series_or_a_dict(trained, people, as_row):
    one = trained.predict(as_row(people.iloc[3]))
    many = trained.predict(people.iloc[[3]])
    assert len(one) == 1
    assert one["prediction"].iloc[0] == many["prediction"].iloc[0]
    assert one["probability_yes"].iloc[0] == pytest.approx(many["probability_yes"].iloc[0],
                                                           abs=1e-6)


def test_unseen_categories_and_missing_values_give_one_warning_counting_them(trained, people):
    rows = people.head(5).astype({"city": object}).copy()
    rows.loc[rows.index[:2], "city"] = "Atlantis"
    rows.loc[rows.index[2], "city"] = None
    rows.loc[rows.index[2:4], "income"] = np.nan
    rows["age"] = 30.0
    before = rows.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = trained.predict(rows)
    pd.testing.assert_frame_equal(rows, before)
    messages = [str(w.message) for w in caught if issubclass(w.category, BriskWarning)]
    assert len(messages) == 1
    expected = "city: 2 unseen categories (e.g. 'Atlantis'), 1 missing (coded as missing)"
    assert expected in messages[0]
    assert "income: 2 missing (filled with" in messages[0]
    assert "age" not in messages[0]
    assert len(result) == 5


def test_unknown_ignore_is_silent(trained, people):
    rows = people.head(2).assign(city="Atlantis", income=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trained.predict(rows, unknown="ignore")


def test_unknown_error_raises_instead(trained, people):
    rows = people.head(2).astype({"city": object})
    rows.loc[rows.index[0], "city"] = "Atlantis"
    rows["age"] = 30.0
    with pytest.raises(DataError, match="city: 1 unseen category"):
        trained.predict(rows, unknown="error")


def test_unseen_categories_predict_like_code_zero(trained, people):
    rows = people.head(3).astype({"city": object})
    rows["city"] = "Atlantis"
    missing = rows.assign(city=None)
    unseen = trained.predict(rows, unknown="ignore")
    expected = trained.predict(missing, unknown="ignore")
    np.testing.assert_allclose(unseen["probability_yes"], expected["probability_yes"])


def test_predict_names_missing_columns(trained, people):
    with pytest.raises(DataError, match=r"lack the column\(s\) \['city', 'income'\]"):
        trained.predict(people.drop(columns=["city", "income"]).head())


def test_predict_refuses_other_inputs(trained):
    with pytest.raises(DataError, match="takes a DataFrame, a Series"):
        trained.predict([1, 2, 3])


def test_predict_on_no_rows_returns_an_empty_table(trained, people):
    result = trained.predict(people.iloc[:0])
    assert len(result) == 0 and "prediction" in result


def test_get_preds_on_the_test_rows(trained):
    probabilities, targets = trained.get_preds(ds="test")
    assert probabilities.shape == (20, 2) and targets is None


def test_get_preds_with_decoded_gives_the_class_labels(trained, people):
    probabilities, targets, labels = trained.get_preds(with_decoded=True)
    assert labels.tolist() == np.where(probabilities[:, 1] > 0.5, "yes", "no").tolist()
    valid_rows = people.iloc[trained.data.valid_idx]
    assert labels.tolist() == trained.predict(valid_rows)["prediction"].tolist()
    assert valid_rows["bought"].tolist() == [trained.data.classes[i] for i in targets]
    assert (labels == valid_rows["bought"].to_numpy()).mean() > 0.8


def test_predict_table_is_predict_with_strict_for_unknown_categories(trained, people):
    rows = people.head(3).assign(age=30.0)
    pd.testing.assert_frame_equal(trained.predict_table(rows), trained.predict(item=rows))
    unseen = rows.assign(city="Atlantis")
    with pytest.raises(DataError, match="city: 3 unseen categories"):
        trained.predict_table(unseen, strict=True)
    with pytest.raises(ConfigError, match="text_cols is for text classifiers"):
        trained.predict_table(rows, text_cols=["city"])


def test_embeddings_are_tables_indexed_by_category(trained):
    tables = trained.embeddings()
    assert list(tables) == [*CAT_NAMES, "age_na"]
    city = tables["city"]
    assert city.index.tolist() == ["#na#", "Brest", "Lyon", "Nice", "Paris"]
    assert city.shape == (5, 4)
    assert tables["size"].index.tolist() == ["#na#", "S", "M", "L"]
    codes = torch.tensor([[2, 0, 0, 0]])
    assert torch.equal(trained.model.embeds(codes)[0, :4],
                       torch.tensor(city.loc["Lyon"].to_numpy()))


def test_export_and_load_learner_predict_identically(trained, people, tmp_path):
    rows = people.sample(50, random_state=1)
    before = trained.predict(rows)
    path = trained.export("people.brisk")
    loaded = bm.load_learner(path)
    assert isinstance(loaded, TabularLearner) and loaded.data is None
    pd.testing.assert_frame_equal(loaded.predict(rows), before)
    for name, table in trained.embeddings().items():
        pd.testing.assert_frame_equal(loaded.embeddings()[name], table)


def test_an_export_keeps_the_pipeline_in_format_2(trained):
    path = trained.export("format2.brisk", overwrite=True)
    _, document = read_bundle(path)
    assert document["export_version"] == 2 and "extra" not in document
    assert document["pipeline"] == json.loads(json.dumps(trained.pipeline.to_json()))
    loaded = bm.load_learner(path)
    assert len(loaded.layer_groups) == len(trained.layer_groups) == 2
    assert json.loads(json.dumps(loaded.describe()))["pipeline"]["classes"] == ["no", "yes"]


def _fixture_table() -> pd.DataFrame:
    """The table make_fixtures.py built its query rows from (its own `table()`)."""
    spec = importlib.util.spec_from_file_location("make_fixtures",
                                                  FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.table()


@pytest.mark.parametrize("name", ["tabular_classifier", "tabular_regressor"])
def test_files_exported_by_briskml_0_1_0_load_and_predict_as_they_did(name):
    expected = json.loads((FIXTURES / "expected.json").read_text())[name]
    query = _fixture_table().head(5)
    learn = bm.load_learner(FIXTURES / f"{name}.brisk")
    assert isinstance(learn, TabularLearner)
    result = learn.predict(query)
    assert list(result.columns) == list(expected)
    for column, values in expected.items():
        if isinstance(values[0], str):
            assert result[column].tolist() == values
        else:
            np.testing.assert_allclose(result[column], values, atol=1e-5, rtol=0)


def test_a_0_1_0_file_without_its_pipeline_asks_for_a_new_export():
    _, meta = read_bundle(FIXTURES / "tabular_classifier.brisk")
    assert TabularLearner.upgrade_v1(meta, "old.brisk")["pipeline"] == meta["extra"]["pipeline"]
    for damaged in ({**meta, "extra": {}}, {**meta, "extra": {"pipeline": {"procs": []}}}):
        with pytest.raises(FileFormatError, match=r"'old.brisk', exported by briskml 0\.1\.0, "
                                                  r"holds .*export the learner again"):
            TabularLearner.upgrade_v1(damaged, "old.brisk")


def test_a_regression_with_log_y_and_y_range_predicts_on_the_original_scale(people, tmp_path):
    data = make_data(people, y="spend", log_y=True)
    learn = tabular_learner(data, layers=[32], y_range=(0.0, 7.0), seed=0, progress=False,
                            path=tmp_path)
    learn.fit_one_cycle(8, 3e-2)
    result = learn.predict(people.head(40))
    assert list(result.columns) == ["prediction"]
    ratio = result["prediction"] / people["spend"].head(40)
    assert ratio.median() == pytest.approx(1.0, abs=0.35)
    log_preds, log_targets, decoded = learn.get_preds(with_decoded=True)
    np.testing.assert_allclose(decoded, np.exp(log_preds.numpy().ravel()), rtol=1e-6)
    np.testing.assert_allclose(np.exp(log_targets.numpy()),
                               people["spend"].iloc[data.valid_idx], rtol=1e-5)
    loaded = bm.load_learner(learn.export("spend.brisk"))
    pd.testing.assert_frame_equal(loaded.predict(people.head(40)), result)


def test_a_multi_label_learner_predicts_each_label(people, tmp_path):
    people = people.assign(likes_tea=people["city"] == "Lyon", big=people["size"] == "L")
    data = make_data(people, y=["likes_tea", "big"])
    learn = tabular_learner(data, layers=[32], seed=0, progress=False, path=tmp_path)
    learn.fit_one_cycle(6, 3e-2)
    result = learn.predict(people.head(100))
    assert list(result.columns) == ["prediction_likes_tea", "prediction_big",
                                    "probability_likes_tea", "probability_big"]
    assert (result["prediction_likes_tea"] == people["likes_tea"].head(100)).mean() > 0.9


def test_discriminative_learning_rates_reach_the_embeddings_group(people):
    learn = tabular_learner(make_data(people), layers=[16], seed=0, progress=False)
    learn.freeze()
    assert not learn.model.embeds.weight.requires_grad
    assert all(param.requires_grad for param in learn.model.head.parameters())
    learn.fit(1, slice(1e-4, 1e-2))
    assert [group["lr"] for group in learn.opt.param_groups] == pytest.approx([1e-4, 1e-2])


def test_tabular_learner_checks_its_arguments(people):
    data = make_data(people)
    with pytest.raises(ConfigError, match="needs TabularData"):
        tabular_learner(bm.DataLoaders(None))
    with pytest.raises(ConfigError, match="y_range applies to regression"):
        tabular_learner(data, y_range=(0, 1))


def test_a_seed_repeats_the_same_training(people):
    results = []
    for _ in range(2):
        learn = tabular_learner(make_data(people), layers=[16], seed=3, progress=False)
        learn.fit(1, 1e-2)
        results.append(learn.validate()["valid_loss"])
    assert results[0] == results[1]


# ----- awkward columns at predict time ----------------------------------------------------------
def test_predict_refuses_duplicated_columns_and_fills_infinite_inputs(trained, people):
    rows = people.head(4).assign(age=30.0)
    with pytest.raises(DataError, match=r"more than one column named \['income'\]"):
        trained.predict(pd.concat([rows, rows[["income"]]], axis=1))
    infinite = rows.assign(income=[np.inf, 1.0, -np.inf, 2.0])
    with pytest.warns(BriskWarning, match=r"income: 2 missing, 2 of them infinite \(filled with"):
        result = trained.predict(infinite)
    filled = rows.assign(income=[np.nan, 1.0, np.nan, 2.0])
    pd.testing.assert_frame_equal(result, trained.predict(filled, unknown="ignore"))
    with pytest.raises(DataError, match="2 of them infinite"):
        trained.predict(infinite, unknown="error")


def test_a_date_column_as_categorical_keeps_its_codes_through_export_and_predict(tmp_path):
    people = make_people(200)
    days = pd.date_range("2024-01-01", periods=6, freq="13h")
    people["day"] = days[np.arange(len(people)) % len(days)]
    data = TabularData.from_df(people, y="bought", cat_names=["day", "city"], cont_names=["age"],
                               valid_pct=0.25, seed=0)
    cats = data.train.tensors[0][:, 0]
    assert sorted(cats.unique().tolist()) == [1, 2, 3, 4, 5, 6]
    learn = tabular_learner(data, layers=[8], seed=0, progress=False, path=tmp_path)
    loaded = bm.load_learner(learn.export("days.brisk"))
    rows = people.head(12).assign(age=30.0)
    as_csv = rows.assign(day=rows["day"].astype(str))   # what `briskml predict` reads
    expected = learn.predict(rows, unknown="error")
    for table in (rows, as_csv):
        codes = loaded.pipeline.inputs(table, unknown="error")[0][:, 0]
        assert codes.tolist() == learn.pipeline.inputs(rows)[0][:, 0].tolist()
        pd.testing.assert_frame_equal(loaded.predict(table, unknown="error"), expected)
