"""import_fastai_lm: fastai's weights and word list, read safely, give fastai's own predictions."""

import json
import pickle
from pathlib import Path

import pytest
import torch

import briskml as bm
from briskml.errors import FileFormatError
from briskml.text import AWDLSTMConfig, AWDLSTMLanguageModel, import_fastai_lm
from briskml.text.fastai_import import read_itos

DATA = Path(__file__).parent / "data"
ITOS = ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj",
        "a", "b", "c"]


def fastai_layout(model: AWDLSTMLanguageModel) -> dict:
    """Our model's weights under fastai's names, with fastai's duplicate entries."""
    state = {"0.encoder.weight": model.encoder.embedding.weight.detach().clone()}
    state["0.encoder_dp.emb.weight"] = state["0.encoder.weight"].clone()
    for index, layer in enumerate(model.encoder.layers):
        prefix = f"0.rnns.{index}."
        state[prefix + "weight_hh_l0_raw"] = layer.weight_hh.detach().clone()
        state[prefix + "module.weight_ih_l0"] = layer.weight_ih.detach().clone()
        state[prefix + "module.weight_hh_l0"] = layer.weight_hh.detach().clone()  # older files
        state[prefix + "module.bias_ih_l0"] = layer.bias_ih.detach().clone()
        state[prefix + "module.bias_hh_l0"] = layer.bias_hh.detach().clone()
    state["1.decoder.weight"] = state["0.encoder.weight"].clone()
    state["1.decoder.bias"] = model.decoder.bias.detach().clone()
    return state


@pytest.fixture
def built_files(tmp_path):
    torch.manual_seed(0)
    model = AWDLSTMLanguageModel(AWDLSTMConfig(vocab_size=len(ITOS), emb_sz=4, n_hid=6,
                                               n_layers=3)).eval()
    torch.save({"model": fastai_layout(model), "opt": {}}, tmp_path / "lm.pth")
    (tmp_path / "itos.pkl").write_bytes(pickle.dumps(ITOS))
    return model, tmp_path / "lm.pth", tmp_path / "itos.pkl"


def test_a_file_in_fastais_layout_imports_with_its_architecture(built_files):
    model, weights, itos = built_files
    learn = import_fastai_lm(weights, itos)
    config = learn.config
    assert (config.vocab_size, config.emb_sz, config.n_hid, config.n_layers) == (12, 4, 6, 3)
    assert config.tie_weights and config.out_bias
    assert learn.vocab.tokens == ITOS
    tokens = torch.tensor([[2, 9, 10, 11]])
    learn.model.eval()
    torch.testing.assert_close(learn.model(tokens), model(tokens))


def test_real_fastai_weights_give_fastais_logits():
    expected = json.loads((DATA / "fastai_tiny_expected.json").read_text())
    learn = import_fastai_lm(DATA / "fastai_tiny_lm.pth", DATA / "fastai_tiny_itos.pkl")
    learn.model.eval()
    with torch.no_grad():
        logits = learn.model(torch.tensor(expected["tokens"]))
    torch.testing.assert_close(logits, torch.tensor(expected["logits"]), atol=1e-5, rtol=1e-4)


def test_an_imported_model_exports_and_generates(built_files, tmp_path):
    _, weights, itos = built_files
    learn = import_fastai_lm(weights, itos)
    loaded = bm.load_learner(learn.export(tmp_path / "imported.brisk"))
    assert loaded.predict("a b", n_words=3, seed=0) == learn.predict("a b", n_words=3, seed=0)


class _Sneaky:
    def __reduce__(self):
        return (print, ("this ran",))


def test_a_word_list_that_would_run_code_is_refused(built_files, tmp_path):
    _, weights, _ = built_files
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps([*ITOS[:-1], _Sneaky()]))
    with pytest.raises(FileFormatError, match=r"refusing to load builtins\.print"):
        import_fastai_lm(weights, evil)


def test_weights_that_need_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "objects.pth"
    torch.save({"0.encoder.weight": torch.zeros(3, 2), "extra": _Sneaky()}, path)
    with pytest.raises(FileFormatError, match="weights-only"):
        import_fastai_lm(path, tmp_path / "unused.pkl")


def test_a_word_list_of_another_length_is_named(built_files, tmp_path):
    _, weights, _ = built_files
    short = tmp_path / "short.pkl"
    short.write_bytes(pickle.dumps(ITOS[:-2]))
    with pytest.raises(FileFormatError, match=r"lists 10 words but the embedding .* has 12 rows"):
        import_fastai_lm(weights, short)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_word_lists_read_in_every_pickle_protocol_without_unpickling(tmp_path, protocol):
    words = ["xxunk", "xxpad", "the", "café", "the"] * 300
    path = tmp_path / "itos.pkl"
    path.write_bytes(pickle.dumps(words, protocol=protocol))
    assert read_itos(path) == words


def test_anything_but_a_list_of_strings_is_refused(tmp_path):
    for content in ({"a": 1}, ["a", 3], "a", ("a",)):
        path = tmp_path / "bad.pkl"
        path.write_bytes(pickle.dumps(content))
        with pytest.raises(FileFormatError, match="list of"):
            read_itos(path)


def test_a_truncated_word_list_is_refused(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps(["xxunk", "xxpad", "the"])[:-3])
    with pytest.raises(FileFormatError, match="list of words"):
        read_itos(path)
