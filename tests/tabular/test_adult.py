"""The lessons' recipe on the real Adult data (skipped when ../shared is not there)."""

import json
from pathlib import Path

import pandas as pd
import pytest

import briskml as bm
from briskml.tabular import TabularData, tabular_learner

SHARED = Path(__file__).resolve().parents[3] / "shared"
ADULT = SHARED / "data" / "adult" / "adult.csv"
SPLIT = SHARED / "splits" / "adult_valid_idx.json"
CAT_NAMES = ["workclass", "education", "marital-status", "occupation", "relationship", "race",
             "sex", "native-country"]
CONT_NAMES = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]

pytestmark = pytest.mark.skipif(not (ADULT.exists() and SPLIT.exists()),
                                reason="needs ../shared/data/adult and ../shared/splits")


def test_two_epochs_of_the_recipe_beat_the_majority_class_by_far():
    df = pd.read_csv(ADULT, skipinitialspace=True)
    valid_idx = json.loads(SPLIT.read_text())["valid_idx"]
    data = TabularData.from_df(df, y="salary", cat_names=CAT_NAMES, cont_names=CONT_NAMES,
                               valid_idx=valid_idx, bs=1024)
    assert data.classes == ["<=50K", ">50K"]
    assert len(data.valid.tensors[0]) == 6512
    learn = tabular_learner(data, layers=[200, 100], metrics=bm.accuracy, seed=42,
                            progress=False)
    learn.fit_one_cycle(2, 1e-2)
    assert learn.validate()["accuracy"] > 0.85  # the majority class scores 0.759
