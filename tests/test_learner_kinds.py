"""The same checks over every kind of learner, each trained tiny: export and reload, get_preds with
every flag, fine_tune, validate against a hand computation, a JSON-able describe(), and the
caller's DataFrames left untouched."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import briskml as bm
from briskml.collab import CollabData
from briskml.datasets import synthetic_reviews
from briskml.tabular import TabularData
from briskml.text import TextData

TINY_TEXT = {"emb_sz": 8, "n_hid": 16, "n_layers": 1}


@dataclass
class Case:
    """A trained tiny learner, what its `predict` takes, and the caller's frames with copies."""

    learn: Any
    predict_input: Any
    frames: list[pd.DataFrame]
    copies: list[pd.DataFrame]
    predict_options: dict[str, Any]


def _table(rows: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], rows),
                       "age": rng.normal(40, 10, rows).round(1),
                       "income": rng.normal(50, 15, rows).round(2)})
    df["label"] = np.where((df["age"] > 40) ^ (df["colour"] == "red"), "yes", "no")
    df["price"] = df["age"] * 0.1 + (df["colour"] == "red") * 1.0 + rng.normal(0, 0.1, rows)
    return df


def _ratings(rows: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user": rng.integers(1, 31, rows), "item": rng.integers(1, 21, rows)})
    frame["rating"] = ((frame["user"] % 5) + (frame["item"] % 3) * 0.5 + 1.0).astype(float)
    frame = frame.drop_duplicates(["user", "item"]).reset_index(drop=True)
    items = pd.DataFrame({"item": np.arange(1, 21),
                          "genre": np.where(np.arange(1, 21) % 2 == 0, "drama", "comedy")})
    return frame, items


def _case(learn: Any, predict_input: Any, frames: list[pd.DataFrame],
          **predict_options: Any) -> Case:
    return Case(learn, predict_input, frames, [frame.copy(deep=True) for frame in frames],
                predict_options)


def tabular_case(y: str) -> Case:
    df = _table()
    data = TabularData.from_df(df.drop(columns=["price" if y == "label" else "label"]), y=y,
                               cat_names=["colour"], cont_names=["age", "income"],
                               valid_pct=0.25, seed=0, bs=32)
    learn = bm.tabular_learner(data, layers=[8, 4], seed=0, progress=False)
    learn.fit_one_cycle(1, 1e-2)
    return _case(learn, df.head(10), [df])


def collab_case(kind: str) -> Case:
    ratings, items = _ratings()
    features = {"item_features": items} if kind == "hybrid" else {}
    data = CollabData.from_df(ratings, "user", "item", "rating", valid_pct=0.2, seed=0, bs=64,
                              **features)
    options = {"dot": {}, "nn": {"use_nn": True, "layers": [8]},
               "hybrid": {"use_features": True}}[kind]
    learn = bm.collab_learner(data, n_factors=4, y_range=(0, 6.5), seed=0, progress=False,
                              **options)
    learn.fit_one_cycle(1, 1e-2)
    return _case(learn, ratings.head(10)[["user", "item"]], [ratings, items])


def _reviews() -> pd.DataFrame:
    return synthetic_reviews(96, seed=0)


def language_model_case() -> Case:
    reviews = _reviews()
    data = TextData.from_df(reviews, "text", for_lm=True, valid_pct=0.2, seed=0, bs=4,
                            seq_len=10)
    learn = bm.language_model_learner(data, config=TINY_TEXT, seed=0, progress=False)
    learn.fit_one_cycle(1, 1e-2)
    return _case(learn, "the film was", [reviews], n_words=4, seed=0)


def text_classifier_case() -> Case:
    reviews = _reviews()
    data = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=8)
    learn = bm.text_classifier_learner(data, config=TINY_TEXT, seed=0, progress=False)
    learn.fit_one_cycle(1, 1e-2)
    return _case(learn, reviews["text"].head(6).tolist(), [reviews])


CASES: dict[str, Callable[[], Case]] = {
    "tabular_classifier": lambda: tabular_case("label"),
    "tabular_regressor": lambda: tabular_case("price"),
    "collab_dot": lambda: collab_case("dot"),
    "collab_nn": lambda: collab_case("nn"),
    "collab_hybrid": lambda: collab_case("hybrid"),
    "language_model": language_model_case,
    "text_classifier": text_classifier_case,
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request) -> Case:
    torch.manual_seed(0)
    return CASES[request.param]()


def _same(first: Any, second: Any) -> None:
    if isinstance(first, pd.DataFrame):
        pd.testing.assert_frame_equal(first, second)
    elif isinstance(first, torch.Tensor):
        assert torch.equal(first, second)
    else:
        assert first == second


def test_export_then_load_learner_predicts_identically(case, tmp_path):
    expected = case.learn.predict(case.predict_input, **case.predict_options)
    loaded = bm.load_learner(case.learn.export(tmp_path / "model.brisk"))
    assert type(loaded) is type(case.learn)
    _same(loaded.predict(case.predict_input, **case.predict_options), expected)


def test_get_preds_returns_every_part_in_fastais_order(case):
    inputs, preds, targets, decoded, losses = case.learn.get_preds(
        with_input=True, with_decoded=True, with_loss=True)
    num_items = len(preds)
    assert num_items > 0 and len(targets) == num_items and len(losses) == num_items
    assert len(decoded) == num_items
    for part in inputs if isinstance(inputs, tuple) else (inputs,):
        assert len(part) == num_items
    assert torch.isfinite(losses).all()
    plain_preds, plain_targets = case.learn.get_preds(reorder=False)
    assert len(plain_preds) == num_items and len(plain_targets) == num_items


def test_validate_matches_a_hand_computation_of_the_loss(case):
    raw, targets = case.learn.get_preds(activation=False)
    expected = float(case.learn.loss_func(raw, targets))
    assert case.learn.validate()["valid_loss"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    _, _, losses = case.learn.get_preds(with_loss=True)
    assert float(losses.mean()) == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_fine_tune_trains_frozen_then_every_layer(case):
    case.learn.fine_tune(1, base_lr=1e-3, freeze_epochs=1)
    assert all(param.requires_grad for param in case.learn.model.parameters())
    assert len(case.learn.recorder.values) == 1   # the recorder holds the last fit's epochs


def test_describe_is_json_and_names_the_kind(case):
    described = case.learn.describe()
    assert json.loads(json.dumps(described))["kind"] == case.learn.kind
    assert described["pipeline"] is not None


def test_the_callers_dataframes_are_never_modified(case):
    case.learn.predict(case.predict_input, **case.predict_options)
    case.learn.get_preds(with_decoded=True)
    for frame, copy in zip(case.frames, case.copies, strict=True):
        pd.testing.assert_frame_equal(frame, copy)
