"""The AWD-LSTM: its config, its dropouts, the stateful language model and the layer groups."""

import dataclasses

import pytest
import torch
from torch import nn

from briskml.errors import ConfigError
from briskml.text import AWD_LSTM, AWDLSTMConfig, AWDLSTMLanguageModel
from briskml.text.awd_lstm import (
    CLASSIFIER_DROPOUTS,
    LM_DROPOUTS,
    language_model_splitter,
    resolve_config,
)
from briskml.text.dropout import LockedDropout, WeightDropLSTM, embedding_with_dropout

TINY = dict(vocab_size=50, emb_sz=8, n_hid=12, n_layers=3)


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


def test_the_defaults_are_the_lessons_language_model():
    config = AWDLSTMConfig()
    assert (config.emb_sz, config.n_hid, config.n_layers, config.pad_token) == (400, 1152, 3, 1)
    assert {name: getattr(config, name) for name in LM_DROPOUTS} == LM_DROPOUTS
    assert config.tie_weights and config.out_bias


def test_the_classifier_config_has_the_lessons_classifier_dropout():
    config = AWDLSTMConfig.for_classifier(vocab_size=100)
    assert {name: getattr(config, name) for name in CLASSIFIER_DROPOUTS} == CLASSIFIER_DROPOUTS


@pytest.mark.parametrize("field, value, message", [
    ("weight_p", 1.0, "weight_p must be in"), ("n_hid", 0, "n_hid must be a positive"),
    ("pad_token", 99, "pad_token must be an id"),
])
def test_bad_config_values_are_named(field, value, message):
    with pytest.raises(ConfigError, match=message):
        AWDLSTMConfig(vocab_size=20, **{field: value})


def test_drop_mult_scales_all_five_dropouts():
    config = resolve_config({"emb_sz": 8}, 30, LM_DROPOUTS, drop_mult=0.5)
    assert config.vocab_size == 30 and config.emb_sz == 8
    assert config.input_p == pytest.approx(0.125) and config.output_p == pytest.approx(0.05)


def test_a_config_for_another_vocabulary_is_refused():
    with pytest.raises(ConfigError, match=r"vocab has|vocab_size is 10"):
        resolve_config(AWDLSTMConfig(vocab_size=10), 30, LM_DROPOUTS, 1.0)
    with pytest.raises(ConfigError, match="Unknown AWD-LSTM config field"):
        resolve_config({"hidden_size": 8}, 30, LM_DROPOUTS, 1.0)


def test_the_decoder_is_tied_to_the_embedding():
    model = AWDLSTMLanguageModel(AWDLSTMConfig(**TINY))
    assert model.decoder.weight is model.encoder.embedding.weight
    untied = AWDLSTMLanguageModel(AWDLSTMConfig(**TINY, tie_weights=False))
    assert untied.decoder.weight is not untied.encoder.embedding.weight


def test_the_last_layer_outputs_emb_sz():
    encoder = AWD_LSTM(AWDLSTMConfig(**TINY))
    output, state = encoder(torch.randint(0, 50, (4, 7)))
    assert output.shape == (4, 7, 8)
    assert [h.shape for h, _ in state] == [(1, 4, 12), (1, 4, 12), (1, 4, 8)]


def test_the_weight_drop_lstm_equals_torch_lstm_without_dropout():
    layer = WeightDropLSTM(5, 7, weight_p=0.5).eval()
    reference = nn.LSTM(5, 7, batch_first=True)
    with torch.no_grad():
        for ours, theirs in (("weight_ih", "weight_ih_l0"), ("weight_hh", "weight_hh_l0"),
                             ("bias_ih", "bias_ih_l0"), ("bias_hh", "bias_hh_l0")):
            getattr(reference, theirs).copy_(getattr(layer, ours))
    x = torch.randn(3, 6, 5)
    expected, (h, c) = reference(x)
    output, (our_h, our_c) = layer(x)
    torch.testing.assert_close(output, expected)
    torch.testing.assert_close(our_h, h)
    torch.testing.assert_close(our_c, c)


def test_dropconnect_drops_hidden_weights_only_while_training():
    layer = WeightDropLSTM(4, 6, weight_p=0.5)
    dropped = layer.dropped_weight_hh()
    assert (dropped == 0).float().mean() > 0.3
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], layer.weight_hh[kept] * 2)
    assert layer.eval().dropped_weight_hh() is layer.weight_hh


def test_embedding_dropout_drops_every_occurrence_of_a_word():
    weight = torch.randn(10, 4)
    tokens = torch.tensor([[3, 3, 5, 3, 5, 7, 7, 7]] * 4)
    embedded = embedding_with_dropout(tokens, weight, 0.5, training=True)
    for word in (3, 5, 7):
        rows = embedded[tokens == word]
        zero = (rows == 0).all(dim=1)
        assert zero.all() or not zero.any()  # the same for each occurrence
        if not zero.any():
            torch.testing.assert_close(rows[0], weight[word] * 2)


def test_locked_dropout_keeps_one_mask_across_time():
    x = torch.ones(2, 9, 16)
    out = LockedDropout(0.5)(x)
    assert torch.equal(out, out[:, :1].expand_as(out))


def test_the_language_model_keeps_its_state_detached_until_reset():
    model = AWDLSTMLanguageModel(AWDLSTMConfig(**TINY))
    model(torch.randint(0, 50, (4, 5)))
    assert model.state is not None
    assert all(not h.requires_grad for h, _ in model.state)
    first = model.state[0][0].clone()
    model(torch.randint(0, 50, (4, 5)))
    assert not torch.equal(first, model.state[0][0])
    model(torch.randint(0, 50, (2, 5)))   # another batch size starts from zeros
    assert model.state[0][0].shape[1] == 2
    model.reset()
    assert model.state is None


def test_a_continued_state_equals_one_long_pass():
    model = AWDLSTMLanguageModel(AWDLSTMConfig(**TINY)).eval()
    tokens = torch.randint(0, 50, (3, 10))
    whole = model(tokens)
    model.reset()
    parts = torch.cat([model(tokens[:, :4]), model(tokens[:, 4:])], dim=1)
    torch.testing.assert_close(parts, whole)


def test_activation_terms_are_kept_only_while_training():
    model = AWDLSTMLanguageModel(AWDLSTMConfig(**TINY))
    model(torch.randint(0, 50, (2, 6)))
    ar, tar = model.activation_terms()
    output, dropped = model.activations
    torch.testing.assert_close(ar, dropped.pow(2).mean())
    torch.testing.assert_close(tar, (output[:, 1:] - output[:, :-1]).pow(2).mean())
    model.eval()(torch.randint(0, 50, (2, 6)))
    assert model.activation_terms() is None


def test_layer_groups_put_the_embedding_and_decoder_last():
    model = AWDLSTMLanguageModel(AWDLSTMConfig(**TINY))
    groups = language_model_splitter(model)
    assert len(groups) == 4
    assert any(param is model.encoder.embedding.weight for param in groups[-1])
    assert any(param is model.decoder.bias for param in groups[-1])
    total = sum(len(group) for group in groups)
    assert total == len(list(model.parameters()))


def test_the_config_round_trips_through_json():
    config = AWDLSTMConfig(**TINY)
    assert AWDLSTMConfig(**dataclasses.asdict(config)) == config
