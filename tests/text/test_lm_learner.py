"""The language-model learner: training, AR/TAR, generation, encoders, export and pretrained=."""

import json

import pandas as pd
import pytest
import torch

import briskml as bm
from briskml.checkpoint import read_export
from briskml.datasets import synthetic_reviews
from briskml.errors import ConfigError, DataError, FileFormatError
from briskml.persist import read_bundle
from briskml.text import (
    AWDLSTMConfig,
    LanguageModelLearner,
    TextData,
    Vocab,
    language_model_learner,
    text_classifier_learner,
)
from briskml.text.callbacks import ActivationRegularizer
from briskml.text.transfer import match_embeddings

TINY = dict(emb_sz=16, n_hid=24, n_layers=2)


@pytest.fixture(scope="module")
def reviews():
    return synthetic_reviews(300, seed=3)


@pytest.fixture(scope="module")
def data_lm(reviews):
    return TextData.from_df(reviews, "text", for_lm=True, valid_pct=0.1, seed=0, bs=16,
                            seq_len=24)


@pytest.fixture(scope="module")
def trained(data_lm, tmp_path_factory):
    learn = language_model_learner(data_lm, config=TINY, seed=0, progress=False,
                                   path=tmp_path_factory.mktemp("lm"))
    learn.fit_one_cycle(2, 3e-2)
    return learn


def test_the_language_model_learns_the_reviews(trained):
    values = trained.recorder.values
    assert values[-1]["valid_loss"] < values[0]["train_loss"]
    assert values[-1]["perplexity"] < 30   # a uniform guess over the vocab is far worse
    assert set(values[-1]) >= {"accuracy", "perplexity"}


def test_the_learner_knows_its_vocab_config_and_groups(trained, data_lm):
    assert trained.vocab is data_lm.vocab
    assert isinstance(trained.config, AWDLSTMConfig) and trained.config.emb_sz == 16
    assert trained.config.vocab_size == len(data_lm.vocab)
    assert len(trained.layer_groups) == 3   # two LSTM layers, then embedding + decoder


def test_ar_and_tar_are_on_by_default_and_can_be_switched_off(data_lm):
    learn = language_model_learner(data_lm, config=TINY, progress=False)
    regularizer = next(cb for cb in learn.callbacks if isinstance(cb, ActivationRegularizer))
    assert (regularizer.alpha, regularizer.beta) == (2.0, 1.0)
    off = language_model_learner(data_lm, config=TINY, progress=False, alpha=0, beta=0)
    regularizer = next(cb for cb in off.callbacks if isinstance(cb, ActivationRegularizer))
    assert (regularizer.alpha, regularizer.beta) == (0.0, 0.0)


def test_ar_tar_change_the_backpropagated_loss_not_the_reported_one(data_lm):
    learn = language_model_learner(data_lm, config=TINY, seed=1, progress=False)
    seen = []

    class Spy(bm.Callback):
        order = 1

        def after_loss(self):
            seen.append((self.learn.loss.item(), self.learn.loss_grad.item()))
            raise bm.CancelFit

    learn.fit(1, 1e-3, callbacks=[Spy()])
    reported, backpropagated = seen[0]
    assert backpropagated > reported


def test_seeded_generation_repeats_exactly(trained):
    first = trained.predict("The film was", n_words=12, seed=7)
    assert first == trained.predict("The film was", n_words=12, seed=7)
    assert first.startswith("The film was")
    torch.manual_seed(3)
    again = trained.predict("The film was", n_words=12)
    torch.manual_seed(3)
    assert trained.predict("The film was", n_words=12) == again


def test_generation_undoes_the_special_tokens(trained):
    text = trained.predict("", n_words=30, seed=1)
    assert "xxmaj" not in text and "xxbos" not in text and "xxup" not in text
    assert len(text.split()) > 5


def test_an_empty_prompt_and_unknown_words_do_not_crash(trained):
    assert isinstance(trained.predict("", n_words=5, seed=0), str)
    text = trained.predict("blorptastic flimflam", n_words=5, seed=0, no_unk=True)
    assert text.startswith("xxunk xxunk")   # the prompt's unknown words stay visible
    assert text.count("xxunk") == 2          # ... but none is generated


def test_temperature_zero_always_picks_the_most_likely_word(trained):
    assert trained.predict("The", n_words=8, temperature=0) == \
        trained.predict("The", n_words=8, temperature=0, seed=99)


@pytest.mark.parametrize("options, message", [
    (dict(temperature=-1), "temperature must be"), (dict(top_k=0), "top_k must be"),
    (dict(min_p=1.5), "min_p must be"), (dict(n_words=-2), "n_words must be"),
])
def test_bad_generation_options_are_named(trained, options, message):
    with pytest.raises(ConfigError, match=message):
        trained.predict("The", **options)


def test_top_k_one_is_greedy(trained):
    assert trained.predict("The", n_words=6, top_k=1, seed=1) == \
        trained.predict("The", n_words=6, temperature=0)


def test_get_preds_gives_one_row_per_validation_token(trained, data_lm):
    probabilities, targets = trained.get_preds()
    loader = data_lm.valid
    assert (loader.row_length - 1) % loader.seq_len   # the last window is shorter than the rest
    # every window of the validation stream, the short last one included
    assert targets.shape == (loader.bs * (loader.row_length - 1),)
    assert probabilities.shape == (len(targets), len(data_lm.vocab))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(len(targets)))


def test_get_preds_with_inputs_decoded_tokens_and_losses(trained, data_lm):
    inputs, probabilities, targets, decoded, losses = trained.get_preds(
        with_input=True, with_decoded=True, with_loss=True)
    assert inputs.shape == targets.shape == losses.shape == decoded.shape == (len(probabilities),)
    first_x, first_y = next(iter(data_lm.valid))
    assert torch.equal(inputs[:first_x.numel()], first_x.reshape(-1))
    assert torch.equal(targets[:first_y.numel()], first_y.reshape(-1))
    best = probabilities.argmax(dim=1)
    assert decoded.tolist() == [data_lm.vocab.tokens[i] for i in best.tolist()]
    assert losses.mean().item() == pytest.approx(trained.validate()["valid_loss"], rel=1e-4)
    raw, _ = trained.get_preds(activation=False)
    torch.testing.assert_close(raw.softmax(dim=1), probabilities)


def test_the_learner_reads_its_parts_through_the_pipeline(trained, data_lm):
    assert trained.pipeline is data_lm.pipeline
    assert (trained.vocab, trained.tokenizer, trained.backwards) == \
        (data_lm.vocab, data_lm.tokenizer, False)
    with pytest.raises(AttributeError):
        trained.vocab = Vocab(["xxunk", "xxpad"], special_tokens=["xxunk", "xxpad"])
    described = json.loads(json.dumps(trained.describe()))
    assert described["kind"] == "text_lm" and described["pipeline"]["classes"] is None
    assert trained.default_moms == (0.8, 0.7, 0.8)


def test_a_language_model_does_not_predict_tables(trained):
    with pytest.raises(ConfigError, match=r"learn\.predict\(.*briskml text generate"):
        trained.predict_table(pd.DataFrame({"text": ["The film was"]}))


def test_an_exported_language_model_generates_the_same_text(trained, tmp_path):
    path = trained.export(tmp_path / "lm.brisk")
    meta, _ = read_export(path)
    assert meta["export_version"] == 2 and "extra" not in meta
    assert meta["pipeline"] == json.loads(json.dumps(trained.pipeline.to_json()))
    loaded = bm.load_learner(path)
    assert isinstance(loaded, LanguageModelLearner)
    assert loaded.vocab == trained.vocab and loaded.config == trained.config
    assert loaded.predict("The film", n_words=10, seed=5) == \
        trained.predict("The film", n_words=10, seed=5)


def test_save_and_load_encoder_round_trip(trained, data_lm, tmp_path):
    trained.path = tmp_path
    path = trained.save_encoder("enc")
    assert read_bundle(path)[1]["tokenizer"] == trained.tokenizer.to_json()   # one serialisation
    other = language_model_learner(data_lm, config=TINY, seed=5, progress=False, path=tmp_path)
    other.load_encoder("enc")
    for ours, theirs in zip(other.encoder.parameters(), trained.encoder.parameters(),
                            strict=True):
        assert torch.equal(ours, theirs)
    assert not any(p.requires_grad for p in other.layer_groups[0])   # frozen after loading


def test_loading_an_encoder_of_another_size_names_the_difference(trained, data_lm, tmp_path):
    trained.path = tmp_path
    trained.save_encoder("enc")
    bigger = language_model_learner(data_lm, config=dict(TINY, n_hid=32), progress=False,
                                    path=tmp_path)
    with pytest.raises(ConfigError, match="n_hid=24 there but 32 here"):
        bigger.load_encoder("enc")


def test_a_missing_encoder_says_where_it_looked(trained, tmp_path):
    trained.path = tmp_path
    with pytest.raises(FileNotFoundError, match="save_encoder"):
        trained.load_encoder("nothing_here")


def test_pretrained_maps_the_vocabulary(trained, tmp_path):
    path = trained.export(tmp_path / "pre.brisk")
    other_reviews = synthetic_reviews(60, seed=11)
    other_reviews.loc[0, "text"] = "Zorblax quintessential zorblax quintessential " * 3
    data = TextData.from_df(other_reviews, "text", for_lm=True, seed=0, bs=8, seq_len=16)
    learn = language_model_learner(data, pretrained=path, progress=False)
    assert learn.config.emb_sz == 16 and learn.config.n_hid == 24   # sizes from the file
    new_weight = learn.model.encoder.embedding.weight.detach()
    old_weight = trained.model.encoder.embedding.weight.detach()
    for token in ("the", "film", "."):
        torch.testing.assert_close(new_weight[data.vocab.index[token]],
                                   old_weight[trained.vocab.index[token]])
    torch.testing.assert_close(new_weight[data.vocab.index["zorblax"]], old_weight.mean(0))
    assert not any(p.requires_grad for p in learn.layer_groups[0])   # frozen: decoder first
    assert all(p.requires_grad for p in learn.layer_groups[-1])


def test_pretrained_from_a_url_goes_through_the_download_cache(trained, data_lm, tmp_path):
    path = trained.export(tmp_path / "url_lm.brisk")
    learn = language_model_learner(data_lm, pretrained=path.as_uri(), progress=False)
    assert learn.validate()["valid_loss"] == pytest.approx(trained.validate()["valid_loss"])


def test_a_pretrained_model_of_another_architecture_is_named(trained, data_lm, tmp_path):
    path = trained.export(tmp_path / "pre.brisk")
    with pytest.raises(ConfigError, match="n_layers=2 there but 3 here"):
        language_model_learner(data_lm, pretrained=path, config=dict(TINY, n_layers=3))


def test_a_classifier_export_is_not_a_pretrained_language_model(data_lm, tmp_path, reviews):
    data = TextData.from_df(reviews.head(40), "text", label_col="label", valid_col="is_valid",
                            vocab=data_lm.vocab, bs=8)
    path = text_classifier_learner(data, config=TINY, progress=False).export(tmp_path / "c.brisk")
    with pytest.raises(FileFormatError, match="expected an exported language model"):
        language_model_learner(data_lm, pretrained=path)


def test_classifier_data_is_refused(reviews):
    data = TextData.from_df(reviews.head(40), "text", label_col="label", valid_col="is_valid")
    with pytest.raises(DataError, match="for_lm=True"):
        language_model_learner(data)


def test_match_embeddings_copies_known_rows_and_averages_new_ones():
    old = Vocab(["xxunk", "xxpad", "a", "b"], special_tokens=["xxunk", "xxpad"])
    new = Vocab(["xxunk", "xxpad", "b", "c"], special_tokens=["xxunk", "xxpad"])
    weight, bias = torch.arange(8.0).reshape(4, 2), torch.arange(4.0)
    new_weight, new_bias, found = match_embeddings(weight, bias, old, new)
    assert found == 3
    torch.testing.assert_close(new_weight[2], weight[3])
    torch.testing.assert_close(new_weight[3], weight.mean(0))
    assert new_bias.tolist() == [0.0, 1.0, 3.0, 1.5]


def test_bfloat16_mixed_precision_trains_on_a_cpu(data_lm, recwarn):
    learn = language_model_learner(data_lm, config=TINY, seed=0, progress=False)
    learn.to_bf16()
    learn.fit(1, 1e-3)   # the LSTM runs in float32 under CPU autocast; the rest in bfloat16
    assert torch.isfinite(torch.tensor(learn.recorder.values[-1]["valid_loss"]))
