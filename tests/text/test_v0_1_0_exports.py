"""Text models exported by briskml 0.1.0 (export format 1) load, predict what 0.1.0 predicted,
feed pretrained= and load_encoder, and export again in today's format.

The fixtures and expected.json come from tests/fixtures/v0_1_0/make_fixtures.py run on 0.1.0.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import briskml as bm
from briskml.checkpoint import read_export
from briskml.datasets import synthetic_reviews
from briskml.errors import BriskWarning, FileFormatError
from briskml.persist import read_bundle, write_bundle
from briskml.text import (
    LanguageModelLearner,
    TextClassifierLearner,
    TextData,
    language_model_learner,
    text_classifier_learner,
)
from briskml.text.transfer import read_text_weights, write_encoder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0"
TINY = dict(emb_sz=8, n_hid=16, n_layers=1)   # the fixtures' sizes


@pytest.fixture(scope="module")
def expected():
    return json.loads((FIXTURES / "expected.json").read_text())


def test_a_0_1_0_language_model_generates_the_same_text(expected):
    learn = bm.load_learner(FIXTURES / "text_lm.brisk")
    assert isinstance(learn, LanguageModelLearner) and not learn.backwards
    assert learn.predict("the film was", n_words=5, seed=0) == expected["text_lm"]


def test_a_0_1_0_classifier_predicts_the_same_labels_and_probabilities(expected):
    learn = bm.load_learner(FIXTURES / "text_classifier.brisk")
    assert isinstance(learn, TextClassifierLearner)
    assert learn.classes == ["negative", "positive"]
    predictions = learn.predict(expected["texts"])
    recorded = expected["text_classifier"]
    assert predictions["prediction"].tolist() == recorded["prediction"]
    for name in ("probability_negative", "probability_positive"):
        np.testing.assert_allclose(predictions[name].to_numpy(), recorded[name], atol=1e-5)


def test_a_0_1_0_model_exports_again_in_todays_format(expected, tmp_path):
    learn = bm.load_learner(FIXTURES / "text_classifier.brisk")
    meta, tensors = read_export(learn.export(tmp_path / "again.brisk"))
    assert meta["export_version"] == 2 and "extra" not in meta
    assert all(rule.startswith("briskml.text.tokenizer.rules.")
               for rule in meta["pipeline"]["tokenizer"]["settings"]["rules"])
    assert "head.0.bn.running_mean" in tensors and "head.1.linear.weight" in tensors
    again = bm.load_learner(tmp_path / "again.brisk")
    np.testing.assert_allclose(again.predict(expected["texts"])["probability_positive"],
                               expected["text_classifier"]["probability_positive"], atol=1e-5)


def test_a_0_1_0_language_model_feeds_pretrained_and_load_encoder(tmp_path):
    reviews = synthetic_reviews(80, seed=1)
    data_lm = TextData.from_df(reviews, "text", for_lm=True, seed=0, bs=4, seq_len=8)
    with warnings.catch_warnings():
        # Its tokenizer names the rules where 0.1.0 kept them: still the same tokenizer.
        warnings.simplefilter("error", BriskWarning)
        learn = language_model_learner(data_lm, pretrained=FIXTURES / "text_lm.brisk",
                                       progress=False)
    assert learn.config.emb_sz == 8 and learn.config.n_hid == 16
    old = bm.load_learner(FIXTURES / "text_lm.brisk")
    data = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid",
                            vocab=old.vocab, bs=8)
    classifier = text_classifier_learner(data, config=TINY, progress=False)
    classifier.load_encoder(FIXTURES / "text_lm.brisk")
    assert np.array_equal(classifier.encoder.embedding.weight.detach().numpy(),
                          old.encoder.embedding.weight.detach().numpy())


def test_a_0_1_0_encoder_file_names_todays_rules(tmp_path):
    old = bm.load_learner(FIXTURES / "text_lm.brisk")
    path = write_encoder(tmp_path / "enc.safetensors", old.encoder, old.config, old.vocab,
                         old.tokenizer)
    tensors, meta = read_bundle(path)
    settings = meta["tokenizer"]["settings"]
    settings["rules"] = [rule.replace(".tokenizer.rules.", ".rules.") for rule in settings["rules"]]
    write_bundle(path, tensors, meta)   # as briskml 0.1.0 wrote it
    assert read_text_weights(path).tokenizer["settings"] == old.tokenizer.options()


def test_a_0_1_0_file_without_its_text_state_asks_for_a_new_export(tmp_path):
    tensors, meta = read_bundle(FIXTURES / "text_lm.brisk")
    del meta["extra"]
    write_bundle(tmp_path / "broken.brisk", tensors, meta)
    with pytest.raises(FileFormatError, match=r"briskml 0\.1\.0.*export it again"):
        bm.load_learner(tmp_path / "broken.brisk")
