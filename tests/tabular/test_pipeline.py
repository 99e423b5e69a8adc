import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.pipeline import Pipeline
from briskml.tabular import Categorify, FillMissing, Normalize, TabularPipeline
from tests.tabular.conftest import CAT_NAMES, CONT_NAMES

PROCS = [FillMissing, Categorify, Normalize]

pytestmark = pytest.mark.filterwarnings("ignore::briskml.errors.BriskWarning")


def fit(df, y, **kwargs):
    train_rows = np.arange(300)
    return TabularPipeline.fit(df, train_rows, CAT_NAMES, CONT_NAMES, PROCS, y, **kwargs)


def test_the_pipeline_keeps_the_shared_contract(people):
    assert isinstance(fit(people, ["bought"]), Pipeline)


def test_fit_transform_gives_the_training_rows_as_inputs_would(people):
    pipeline, (cats, conts) = TabularPipeline.fit_transform(
        people, np.arange(300), CAT_NAMES, CONT_NAMES, PROCS, ["bought"])
    expected_cats, expected_conts = pipeline.inputs(people.iloc[:300])
    assert torch.equal(cats, expected_cats) and torch.equal(conts, expected_conts)
    assert cats.shape == (300, 4) and conts.dtype == torch.float32


def test_decode_gives_class_labels(people):
    pipeline = fit(people, ["bought"])
    probabilities = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert pipeline.decode(probabilities).tolist() == ["no", "yes", "no"]
    assert isinstance(pipeline.decode(probabilities), np.ndarray)


def test_decode_gives_values_on_the_targets_scale(people):
    pipeline = fit(people, ["spend"], log_y=True)
    decoded = pipeline.decode(torch.tensor([[0.0], [1.0]]))
    assert decoded.shape == (2,)
    np.testing.assert_allclose(decoded, [1.0, np.e], rtol=1e-6)


def test_decode_gives_one_column_per_target_for_several_targets(people):
    people = people.assign(spend_twice=people["spend"] * 2)
    pipeline = fit(people, ["spend", "spend_twice"])
    assert pipeline.y_kind == "regression"
    decoded = pipeline.decode(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert decoded.shape == (2, 2) and decoded.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_decode_gives_flags_for_multi_label(people):
    people = people.assign(likes_tea=people["city"] == "Lyon", big=people["size"] == "L")
    pipeline = fit(people, ["likes_tea", "big"])
    decoded = pipeline.decode(torch.tensor([[0.9, 0.2], [0.4, 0.7]]))
    assert decoded.dtype == bool and decoded.tolist() == [[True, False], [False, True]]


def test_decode_predictions_is_built_on_decode(people):
    pipeline = fit(people, ["bought"])
    probabilities = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    table = pipeline.decode_predictions(probabilities, pd.Index([10, 11]))
    assert table["prediction"].tolist() == pipeline.decode(probabilities).tolist()
    assert table.index.tolist() == [10, 11]
    np.testing.assert_allclose(table["probability_yes"], [0.1, 0.8])


def test_describe_summarises_the_pipeline_as_json(people):
    pipeline = fit(people, ["bought"])
    summary = json.loads(json.dumps(pipeline.describe()))
    assert summary == {
        "cat_names": CAT_NAMES, "cont_names": CONT_NAMES, "added_cat_names": ["age_na"],
        "procs": ["FillMissing", "Categorify", "Normalize"],
        "num_categories": {"city": 4, "size": 3, "member": 2, "age_na": 2},
        "y_names": ["bought"], "y_kind": "category", "classes": ["no", "yes"], "log_y": False,
    }


def test_describe_of_integer_classes_is_json_too(people):
    people = people.assign(grade=np.arange(len(people)) % 3)
    pipeline = fit(people, ["grade"], y_block="category")
    assert json.loads(json.dumps(pipeline.describe()))["classes"] == [0, 1, 2]


def test_the_pipeline_survives_json(people):
    pipeline = fit(people, ["bought"])
    rebuilt = TabularPipeline.from_json(json.loads(json.dumps(pipeline.to_json())))
    assert rebuilt.describe() == pipeline.describe()
    for left, right in zip(rebuilt.inputs(people), pipeline.inputs(people), strict=True):
        assert torch.equal(left, right)


# ----- awkward data is refused by name, or handled as documented --------------------------------
def test_a_target_with_one_class_is_refused(people):
    with pytest.raises(DataError, match=r"Target 'bought' has one class in the training rows "
                                        r"\(only 'no'\); a classifier needs at least 2 classes"):
        fit(people.assign(bought="no"), ["bought"])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_missing_or_infinite_numeric_target_is_refused_with_its_rows(people, bad):
    people.loc[[5, 350], "spend"] = bad
    with pytest.raises(DataError, match=r"Target 'spend' has missing or infinite values in 2 "
                                        r"row\(s\), e.g. rows \[5, 350\] \(1 of them training "
                                        r"rows\).*dropna\(subset=\['spend'\]\)"):
        fit(people, ["spend"])


def test_duplicated_columns_are_refused_when_fitting_and_applying(people):
    doubled = pd.concat([people, people[["age"]]], axis=1)
    fix = re.escape("df = df.loc[:, ~df.columns.duplicated()]")
    with pytest.raises(DataError, match=rf"more than one column named \['age'\].*{fix}"):
        fit(doubled, ["bought"])
    pipeline = fit(people, ["bought"])
    with pytest.raises(DataError, match=r"more than one column named \['age'\]"):
        pipeline.inputs(doubled)
    pipeline.inputs(pd.concat([people, people[["spend"]]], axis=1))   # a column it never reads


def test_column_names_must_be_strings(people):
    people = people.rename(columns={"age": 0})
    with pytest.raises(ConfigError, match=r"cont_names names the column 0 \(int\); column names "
                                          "must be strings"):
        TabularPipeline.fit(people, np.arange(300), CAT_NAMES, [0, "income"], PROCS, ["bought"])


def test_the_columns_fill_missing_adds_need_categorify(people):
    with pytest.raises(ConfigError, match=r"FillMissing adds the categorical column\(s\) "
                                          r"\['age_na'\], which need Categorify"):
        TabularPipeline.fit(people, np.arange(300), [], CONT_NAMES, [FillMissing, Normalize],
                            ["bought"])


def test_one_infinite_value_leaves_the_other_values_scaled_as_before(people):
    with_inf = people.assign(income=people["income"].where(people.index != 7, np.inf))
    with_nan = people.assign(income=people["income"].where(people.index != 7, np.nan))
    with pytest.warns(BriskWarning, match=r"'income' holds 1 infinite value\(s\)"):
        pipeline = fit(with_inf, ["bought"])
    expected = fit(with_nan, ["bought"])
    assert pipeline.to_json() == expected.to_json()
    for left, right in zip(pipeline.inputs(with_inf), expected.inputs(with_nan), strict=True):
        assert torch.equal(left, right)
    assert pipeline.inputs(with_inf)[1].abs().max() < 10


def test_date_targets_keep_their_classes(people):
    days = pd.Series(pd.to_datetime(["2024-01-01", "2024-06-01 12:00"], format="mixed"))
    people = people.assign(day=days.iloc[np.arange(len(people)) % 2].to_numpy())
    pipeline = fit(people, ["day"])
    assert pipeline.classes == ["2024-01-01 00:00:00", "2024-06-01 12:00:00"]
    midnight_only = people.iloc[::2]
    assert pipeline.targets(midnight_only).tolist() == [0] * len(midnight_only)


def test_a_target_beyond_float32s_range_is_refused(people):
    people.loc[4, "spend"] = 1e39
    pipeline = fit(people, ["spend"])
    with pytest.raises(DataError, match=r"Target 'spend' has 1 value\(s\) beyond \+-3.4e38"):
        pipeline.targets(people)
