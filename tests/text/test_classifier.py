"""The classifier learner: encoder transfer, gradual unfreezing, prediction on raw text, export,
backwards models and the ensemble."""

import json

import pandas as pd
import pytest
import torch

import briskml as bm
from briskml.datasets import synthetic_reviews
from briskml.errors import ConfigError
from briskml.text import (
    TextClassifierLearner,
    TextData,
    ensemble,
    language_model_learner,
    text_classifier_learner,
    text_columns,
)

TINY = dict(emb_sz=16, n_hid=24, n_layers=2)


@pytest.fixture(scope="module")
def reviews():
    return synthetic_reviews(400, seed=5)


@pytest.fixture(scope="module")
def data_lm(reviews):
    return TextData.from_df(reviews, "text", for_lm=True, valid_pct=0.1, seed=0, bs=16,
                            seq_len=24)


@pytest.fixture(scope="module")
def data_clas(reviews, data_lm):
    return TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid",
                            vocab=data_lm.vocab, bs=32)


@pytest.fixture(scope="module")
def trained(data_clas, tmp_path_factory):
    learn = text_classifier_learner(data_clas, config=TINY, seed=0, progress=False,
                                    path=tmp_path_factory.mktemp("clas"))
    learn.fit_one_cycle(8, 5e-2, moms=(0.8, 0.7))
    return learn


def test_the_classifier_learns_the_reviews(trained):
    assert trained.validate()["accuracy"] > 0.75


def test_the_learner_knows_vocab_classes_and_config(trained, data_clas):
    assert trained.vocab is data_clas.vocab
    assert trained.classes == ["negative", "positive"]
    assert trained.config.emb_sz == 16 and trained.config.weight_p == pytest.approx(0.25)


def test_freezing_opens_one_lstm_layer_at_a_time(data_clas):
    learn = text_classifier_learner(data_clas, config=dict(TINY, n_layers=3), progress=False)
    trainable = []
    for step in (learn.freeze, lambda: learn.freeze_to(-2), lambda: learn.freeze_to(-3),
                 learn.unfreeze):
        step()
        trainable.append([all(p.requires_grad for p in group) for group in learn.layer_groups])
    assert trainable == [[False, False, False, False, True], [False, False, False, True, True],
                         [False, False, True, True, True], [True] * 5]


def test_fit_gradual_follows_the_lessons_recipe(data_clas, monkeypatch):
    learn = text_classifier_learner(data_clas, config=TINY, progress=False)
    calls = []

    def record(n_epoch, lr_max, moms, callbacks):   # fit_gradual hands its callbacks on
        assert list(callbacks) == []
        frozen = sum(not group[0].requires_grad for group in learn.layer_groups)
        calls.append((frozen, n_epoch, lr_max, moms))

    monkeypatch.setattr(learn, "fit_one_cycle", record)
    learn.fit_gradual(lr=2e-2, epochs=(1, 1, 1, 2))
    factor = 2.6**4
    # Four groups (embedding, 2 LSTM layers, head): freeze_to(-3) would open all but the
    # embedding, which the last stage does anyway, so with 2 layers it still runs.
    assert [c[0] for c in calls] == [3, 2, 1, 0]
    assert calls[0][2] == 2e-2
    assert calls[1][2] == slice(1e-2 / factor, 1e-2)
    assert calls[2][2] == slice(5e-3 / factor, 5e-3)
    # moms=None: fit_one_cycle takes the text learner's default, ULMFiT's (0.8, 0.7, 0.8).
    assert calls[3][1:] == (2, slice(1e-3 / factor, 1e-3), None)
    assert learn.default_moms == (0.8, 0.7, 0.8)
    calls.clear()
    learn.fit_gradual(epochs=(1, 0, 0, 0), moms=(0.9, 0.8))
    assert calls == [(3, 1, 2e-2, (0.9, 0.8))]


def test_fit_gradual_skips_stages_a_one_layer_model_lacks(data_clas, monkeypatch):
    learn = text_classifier_learner(data_clas, config=dict(TINY, n_layers=1), progress=False)
    frozen_counts = []
    monkeypatch.setattr(learn, "fit_one_cycle", lambda *args, **kwargs: frozen_counts.append(
        sum(not group[0].requires_grad for group in learn.layer_groups)))
    learn.fit_gradual(epochs=(1, 1, 1, 1))
    assert frozen_counts == [2, 1, 0]   # head; LSTM + head; everything


def test_the_encoder_moves_from_the_language_model(data_lm, data_clas, tmp_path):
    lm = language_model_learner(data_lm, config=TINY, seed=0, progress=False, path=tmp_path)
    lm.save_encoder("enc")
    exported = lm.export("lm.brisk")
    for source in ("enc", exported):
        learn = text_classifier_learner(data_clas, config=TINY, progress=False, path=tmp_path)
        learn.load_encoder(source)
        torch.testing.assert_close(learn.encoder.embedding.weight, lm.encoder.embedding.weight)
        assert all(not p.requires_grad for p in learn.layer_groups[0])


def test_an_encoder_of_another_vocabulary_is_refused_with_the_sizes(data_lm, reviews, tmp_path):
    lm = language_model_learner(data_lm, config=TINY, progress=False, path=tmp_path)
    lm.save_encoder("enc")
    own_vocab = TextData.from_df(reviews.head(80), "text", label_col="label",
                                 valid_col="is_valid")
    learn = text_classifier_learner(own_vocab, config=TINY, progress=False, path=tmp_path)
    with pytest.raises(ConfigError, match=rf"{len(data_lm.vocab)} tokens there, "
                                          rf"{len(own_vocab.vocab)} in this data"):
        learn.load_encoder("enc")


def test_predict_one_text_gives_the_label_and_probabilities(trained):
    label, probabilities = trained.predict("A real gem! The acting was wonderful.")
    assert label in trained.classes
    assert set(probabilities) == set(trained.classes)
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert probabilities[label] == max(probabilities.values())


def test_batch_prediction_keeps_the_callers_order(trained, reviews):
    frame = reviews.iloc[[5, 1, 7, 3]]
    predictions = trained.predict(frame, text_cols="text")
    assert list(predictions.index) == [5, 1, 7, 3]
    for index, text in frame["text"].items():
        label, probabilities = trained.predict(text)
        assert predictions.loc[index, "prediction"] == label
        assert predictions.loc[index, "probability_positive"] == \
            pytest.approx(probabilities["positive"], abs=1e-5)
    as_list = trained.predict(frame["text"].tolist())
    assert as_list["prediction"].tolist() == predictions["prediction"].tolist()
    as_series = trained.predict(frame["text"])
    assert list(as_series.index) == [5, 1, 7, 3]


def test_a_dataframe_without_a_text_column_needs_text_cols(trained):
    with pytest.raises(bm.DataError, match="text_cols"):
        trained.predict(pd.DataFrame({"a": ["x"], "b": ["y"]}))


def test_get_preds_follow_the_document_order(trained, data_clas, reviews):
    probabilities, targets = trained.get_preds()
    expected = torch.from_numpy(data_clas.labels[data_clas.valid_docs])
    assert torch.equal(targets, expected)
    assert probabilities.shape == (len(data_clas.valid_docs), 2)
    # row i is document valid_docs[i], although the loader serves them longest first
    assert not torch.equal(data_clas.valid.order, torch.arange(len(data_clas.valid_docs)))
    texts = reviews["text"].iloc[data_clas.valid_docs].tolist()
    predicted = trained.predict(texts)
    torch.testing.assert_close(probabilities[:, 1],
                               torch.tensor(predicted["probability_positive"].to_numpy()),
                               atol=1e-5, rtol=0)


def test_get_preds_with_inputs_decoded_labels_and_losses(trained, data_clas):
    inputs, probabilities, targets, decoded, losses = trained.get_preds(
        with_input=True, with_decoded=True, with_loss=True)
    assert inputs.shape[0] == len(data_clas.valid_docs) == len(losses) == len(decoded)
    pad = data_clas.vocab.pad_id
    for row, document in zip(inputs[:5], data_clas.valid_docs[:5], strict=True):
        start, end = data_clas.offsets[document], data_clas.offsets[document + 1]
        assert row[:end - start].tolist() == data_clas.ids[start:end].tolist()
        assert (row[end - start:] == pad).all()
    assert decoded.tolist() == [trained.classes[i] for i in probabilities.argmax(1).tolist()]
    assert torch.equal(targets, torch.from_numpy(data_clas.labels[data_clas.valid_docs]))
    assert losses.mean().item() == pytest.approx(trained.validate()["valid_loss"], rel=1e-4)


def test_predict_table_finds_the_text_column_and_keeps_the_index(trained, reviews):
    texts = reviews["text"].iloc[[3, 4]].tolist()
    rows = pd.DataFrame({"id": [10, 11], "review": texts}, index=[7, 9])
    table = trained.predict_table(rows)
    assert list(table.index) == [7, 9]
    assert list(table.columns) == ["prediction", "probability_negative", "probability_positive"]
    expected = trained.predict(texts).set_axis(rows.index)
    pd.testing.assert_frame_equal(table, expected)
    pd.testing.assert_frame_equal(trained.predict_table(rows, text_cols=["review"]), expected)
    pd.testing.assert_frame_equal(trained.predict(rows), expected)


def test_text_columns_are_named_or_guessed():
    assert text_columns(pd.DataFrame({"text": ["a"], "title": ["b"]})) == ["text"]
    assert text_columns(pd.DataFrame({"id": [1], "review": ["b"]})) == ["review"]
    assert text_columns(pd.DataFrame({"a": ["x"], "b": ["y"]}), "b") == ["b"]
    with pytest.raises(bm.DataError, match=r"text_cols=.*2 columns hold strings"):
        text_columns(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    with pytest.raises(bm.DataError, match=r"'body' \(in text_cols\)"):
        text_columns(pd.DataFrame({"a": ["x"]}), ["body"])


def test_an_exported_classifier_predicts_the_same(trained, tmp_path, reviews):
    loaded = bm.load_learner(trained.export(tmp_path / "clas.brisk"))
    assert isinstance(loaded, TextClassifierLearner)
    assert loaded.classes == trained.classes and loaded.vocab == trained.vocab
    assert json.loads(json.dumps(loaded.describe()))["pipeline"]["classes"] == trained.classes
    texts = reviews["text"].head(6).tolist()
    pd.testing.assert_frame_equal(loaded.predict(texts), trained.predict(texts))


def test_a_backwards_classifier_and_the_ensemble(reviews, data_lm, data_clas, trained):
    backwards = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid",
                                 vocab=data_lm.vocab, bs=32, backwards=True)
    learn = text_classifier_learner(backwards, config=TINY, seed=1, progress=False)
    assert learn.backwards
    learn.fit_one_cycle(8, 5e-2, moms=(0.8, 0.7))
    probabilities, targets = ensemble([trained, learn])
    forward, _ = trained.get_preds()
    backward, _ = learn.get_preds()
    torch.testing.assert_close(probabilities, (forward + backward) / 2)
    assert (probabilities.argmax(1) == targets).float().mean() > 0.7
    text = reviews["text"].iloc[0]
    assert learn.predict([text]).iloc[0]["prediction"] == learn.predict(text)[0]
    per_learner, same_targets = ensemble([trained, learn], ds=[data_clas.valid, backwards.valid])
    torch.testing.assert_close(per_learner, probabilities)
    assert torch.equal(same_targets, targets)


def test_an_ensemble_needs_one_dataset_per_learner(trained, data_clas):
    with pytest.raises(ConfigError, match="2 learners but 1 datasets"):
        ensemble([trained, trained], ds=[data_clas.valid])
