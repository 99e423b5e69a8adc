import json

import numpy as np
import pandas as pd
import pytest
import torch

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
