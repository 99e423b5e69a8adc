"""Edited or damaged text files are refused before anything is built from them, with a
FileFormatError that names the file and the field: the pipeline of an exported language model
and classifier (`check_export`, and `load_learner`), encoder files, TextData files, and the
token cache (a damaged entry is rebuilt, with a warning)."""

from __future__ import annotations

import base64
import copy
import json
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import briskml as bm
from briskml.errors import BriskWarning, FileFormatError
from briskml.persist import read_bundle, write_bundle
from briskml.text import (
    LanguageModelLearner,
    SentencePieceTokenizer,
    TextClassifierLearner,
    TextData,
    TextPipeline,
    Tokenizer,
    language_model_learner,
    text_classifier_learner,
)
from briskml.text.arrays import read_arrays, write_arrays
from briskml.text.transfer import read_text_weights
from briskml.text.vocab import MAX_SPECIAL_TOKENS

from .conftest import make_reviews

TINY = dict(emb_sz=8, n_hid=16, n_layers=1)
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """An untrained tiny language model and classifier, exported, and an encoder file."""
    folder = tmp_path_factory.mktemp("exports")
    reviews = make_reviews(60, seed=2)
    data_lm = TextData.from_df(reviews, "text", for_lm=True, bs=4, seq_len=8, min_freq=1)
    lm = language_model_learner(data_lm, config=TINY, seed=0, progress=False, path=folder)
    data = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=8,
                            vocab=data_lm.vocab)
    classifier = text_classifier_learner(data, config=TINY, seed=0, progress=False, path=folder)
    data.save(folder / "data.textdata")
    return {"text_lm": lm.export("lm.brisk"), "text_classifier": classifier.export("cls.brisk"),
            "encoder": lm.save_encoder("enc"), "data": folder / "data.textdata"}


def _edited(source: Path, target: Path, edit: Edit) -> tuple[dict[str, Any], dict, Path]:
    """Read `source`, apply `edit` to its JSON and write it to `target` (tensors unchanged)."""
    tensors, meta = read_bundle(source)
    edit(meta)
    write_bundle(target, tensors, meta)
    shapes = {key.removeprefix("model."): tuple(value.shape) for key, value in tensors.items()}
    return meta, shapes, target


def _set(path: str, value: Any) -> Edit:
    """An edit that sets the field at `path` ("pipeline.vocab.tokens[3]") to `value`."""
    def edit(meta: dict[str, Any]) -> None:
        parent, key = _locate(meta, path)
        parent[key] = value
    return edit


def _delete(path: str) -> Edit:
    def edit(meta: dict[str, Any]) -> None:
        parent, key = _locate(meta, path)
        del parent[key]
    return edit


def _apply(path: str, change: Callable[[Any], Any]) -> Edit:
    def edit(meta: dict[str, Any]) -> None:
        parent, key = _locate(meta, path)
        parent[key] = change(copy.deepcopy(parent[key]))
    return edit


def _locate(meta: dict[str, Any], path: str) -> tuple[Any, Any]:
    keys: list[Any] = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        keys.append(name)
        if index:
            keys.append(int(index.rstrip("]")))
    parent = meta
    for key in keys[:-1]:
        parent = parent[key]
    return parent, keys[-1]


def _swap_unk_and_pad(vocab: dict[str, Any]) -> dict[str, Any]:
    for name in ("tokens", "special_tokens"):
        vocab[name][0], vocab[name][1] = vocab[name][1], vocab[name][0]
    return vocab


# (edit, the field the error names) for both kinds of export
BOTH = [
    (_delete("pipeline"), r"field 'pipeline' is missing"),
    (_set("pipeline", ["vocab"]), r"field 'pipeline' must be a JSON object"),
    (_set("pipeline.vocab.tokens[12]", 3), r"field 'pipeline\.vocab\.tokens\[12\]' must be a str"),
    (_set("pipeline.vocab.tokens[13]", float("nan")), r"'pipeline\.vocab\.tokens\[13\]'"),
    (_apply("pipeline.vocab.tokens", lambda t: [*t[:20], t[19], *t[21:]]),
     r"'pipeline\.vocab\.tokens\[20\]' repeats"),
    (_set("pipeline.vocab.tokens[0]", "hello"), r"'pipeline\.vocab\.tokens\[0\]' must be the "
                                                "special token 'xxunk'"),
    (_set("pipeline.vocab.tokens", "xxunk xxpad"), r"'pipeline\.vocab\.tokens' must be a list"),
    (_apply("pipeline.vocab.tokens", lambda t: [*t, "zzz-new-word"]),
     r"'pipeline\.vocab\.tokens' has \d+ tokens but the embedding .* has \d+ rows"),
    (_apply("pipeline.vocab.tokens", lambda t: t[:-1]),
     r"'pipeline\.vocab\.tokens' has \d+ tokens but the embedding .* has \d+ rows"),
    (_apply("pipeline.vocab.special_tokens", lambda t: [x for x in t if x != "xxpad"]),
     r"'pipeline\.vocab\.special_tokens' must include 'xxpad'"),
    (_apply("pipeline.vocab.special_tokens",
            lambda t: [*t, *(f"xxextra{i}" for i in range(MAX_SPECIAL_TOKENS))]),
     r"'pipeline\.vocab\.special_tokens' has \d+ entries"),
    (_set("pipeline.vocab.format", "fastai.vocab"), r"'pipeline\.vocab\.format' must be"),
    (_set("pipeline.vocab.format_version", 99), r"'pipeline\.vocab\.format_version' is 99"),
    (_set("pipeline.vocab.format_version", 1.5), r"'pipeline\.vocab\.format_version' must be a "
                                                 "whole number"),
    (_apply("pipeline.vocab", _swap_unk_and_pad), r"'model\.config(\.encoder)?\.pad_token' is 1 "
                                                  "but pipeline.vocab has xxpad at index 0"),
    (_delete("pipeline.tokenizer"), r"'pipeline\.tokenizer' is missing"),
    (_set("pipeline.tokenizer.settings.kind", "bpe-magic"),
     r"'pipeline\.tokenizer\.settings\.kind' must be one of"),
    (_set("pipeline.tokenizer.settings.lang", 5), r"'pipeline\.tokenizer\.settings\.lang' must "
                                                  "be a string"),
    (_set("pipeline.tokenizer.settings.lang", "../../etc"),
     r"'pipeline\.tokenizer\.settings\.lang' must be a language code"),
    (_set("pipeline.tokenizer.settings.add_bos", "yes"),
     r"'pipeline\.tokenizer\.settings\.add_bos' must be true or false"),
    (_set("pipeline.tokenizer.settings.rules", "fix_html"),
     r"'pipeline\.tokenizer\.settings\.rules' must be a list"),
    (_set("pipeline.tokenizer.settings.rules", [None]),
     r"'pipeline\.tokenizer\.settings\.rules\[0\]' must be a string"),
    (_set("pipeline.tokenizer.settings.max_vocab", 3),
     r"'pipeline\.tokenizer\.settings\.max_vocab' is not an option"),
    (_set("pipeline.tokenizer.state", []), r"'pipeline\.tokenizer\.state' must be a JSON object"),
    (_set("pipeline.tokenizer.state", {"model": "not base64!"}),
     r"'pipeline\.tokenizer\.state\.model' is not valid base64"),
    (_set("pipeline.backwards", "false"), r"'pipeline\.backwards' must be true or false"),
    (_set("pipeline.backwards", float("nan")), r"'pipeline\.backwards' must be true or false"),
    (_delete("pipeline.classes"), r"'pipeline\.classes' is missing"),
]
LM_ONLY = [
    (_set("pipeline.classes", ["negative", "positive"]), r"'pipeline\.classes' must be null for "
                                                         "a language model; got 2 classes"),
]
CLASSIFIER_ONLY = [
    (_set("pipeline.classes", None), r"'pipeline\.classes' holds null but the model has 2"),
    (_set("pipeline.classes", ["negative"]), r"'pipeline\.classes' must name at least 2"),
    (_set("pipeline.classes", ["a", "b", "c"]), r"'pipeline\.classes' holds 3 classes but the "
                                                r"model has 2 outputs \(model\.config\.n_classes"),
    (_set("pipeline.classes", ["a", "a"]), r"'pipeline\.classes\[1\]' repeats the class 'a'"),
    (_set("pipeline.classes", [1, 1.0]), r"'pipeline\.classes\[1\]' repeats"),
    (_set("pipeline.classes", [float("nan"), "b"]), r"'pipeline\.classes\[0\]' must be a class"),
    (_set("pipeline.classes", [["a"], "b"]), r"'pipeline\.classes\[0\]' must be a class"),
    (_set("pipeline.classes", "ab"), r"'pipeline\.classes' must be a list"),
]
CASES = ([("text_lm", *case) for case in BOTH + LM_ONLY]
         + [("text_classifier", *case) for case in BOTH + CLASSIFIER_ONLY])
LEARNERS = {"text_lm": LanguageModelLearner, "text_classifier": TextClassifierLearner}


@pytest.mark.parametrize(("kind", "edit", "field"), CASES)
def test_an_edited_pipeline_is_refused_naming_the_file_and_the_field(exports, tmp_path, kind,
                                                                     edit, field):
    meta, shapes, path = _edited(exports[kind], tmp_path / "edited.brisk", edit)
    with pytest.raises(FileFormatError, match=rf"'{path}' is damaged or was edited: .*{field}"):
        LEARNERS[kind].check_export(meta, shapes, str(path))
    with pytest.raises(FileFormatError, match=field):
        bm.load_learner(path)


@pytest.mark.parametrize("kind", ["text_lm", "text_classifier"])
def test_an_unedited_export_passes_its_checks_and_loads(exports, kind):
    tensors, meta = read_bundle(exports[kind])
    shapes = {key.removeprefix("model."): tuple(value.shape) for key, value in tensors.items()}
    LEARNERS[kind].check_export(meta, shapes, str(exports[kind]))
    assert isinstance(bm.load_learner(exports[kind]), LEARNERS[kind])


def test_a_config_that_disagrees_with_the_vocabulary_is_named_with_both_numbers(exports):
    tensors, meta = read_bundle(exports["text_lm"])
    shapes = {key.removeprefix("model."): tuple(value.shape) for key, value in tensors.items()}
    size = len(meta["pipeline"]["vocab"]["tokens"])
    meta["model"]["config"]["vocab_size"] = size + 1
    with pytest.raises(FileFormatError, match=rf"'pipeline\.vocab\.tokens' has {size} tokens but "
                                              rf"model\.config\.vocab_size is {size + 1}"):
        LanguageModelLearner.check_export(meta, shapes, "lm.brisk")
    shapes["encoder.embedding.weight"] = (size - 3, 8)
    with pytest.raises(FileFormatError, match=rf"has {size} tokens but the embedding .* has "
                                              rf"{size - 3} rows"):
        LanguageModelLearner.check_export(meta, shapes, "lm.brisk")


def test_a_custom_rule_is_named_rather_than_called_damage(exports, tmp_path):
    meta, shapes, path = _edited(exports["text_lm"], tmp_path / "custom.brisk",
                                 _set("pipeline.tokenizer.settings.rules", ["my_module.my_rule"]))
    with pytest.raises(FileFormatError, match=r"custom rule\(s\) \['my_module\.my_rule'\]"):
        LanguageModelLearner.check_export(meta, shapes, str(path))


# ----- encoder files ----------------------------------------------------------------------
@pytest.mark.parametrize(("edit", "field"), [
    (_set("config.emb_sz", "8"), r"'config\.emb_sz' must be a whole number"),
    (_set("config.n_layers", 0), r"'config\.n_layers' must be at least 1"),
    (_delete("config.pad_token"), r"'config\.pad_token' is missing"),
    (_set("config.pad_token", 0), r"'config\.pad_token' is 0 but vocab has xxpad at index 1"),
    (_set("vocab.tokens[15]", None), r"'vocab\.tokens\[15\]' must be a string"),
    (_apply("vocab.tokens", lambda t: [*t, "zzz"]), r"weights\['encoder\.embedding\.weight'\]' "
                                                    r"has shape \(\d+, 8\)"),
    (_set("tokenizer.settings.add_eos", 1), r"'tokenizer\.settings\.add_eos' must be true"),
    (_set("backwards", "no"), r"'backwards' must be true or false"),
])
def test_an_edited_encoder_file_is_refused_naming_the_file_and_the_field(exports, tmp_path,
                                                                         edit, field):
    _, _, path = _edited(exports["encoder"], tmp_path / "enc.safetensors", edit)
    with pytest.raises(FileFormatError, match=rf"'{path}' is damaged or was edited: .*{field}"):
        read_text_weights(path)


def test_encoder_tensors_of_the_wrong_shape_are_refused_before_loading(exports, tmp_path):
    tensors, meta = read_bundle(exports["encoder"])
    tensors["encoder.layers.0.weight_hh"] = torch.zeros(32, 9)
    write_bundle(tmp_path / "enc.safetensors", tensors, meta)
    with pytest.raises(FileFormatError, match=r"weights\['encoder\.layers\.0\.weight_hh'\]' has "
                                              r"shape \(32, 9\) but .* need \(32, 8\)"):
        read_text_weights(tmp_path / "enc.safetensors")
    del tensors["encoder.layers.0.weight_hh"]
    write_bundle(tmp_path / "enc.safetensors", tensors, meta)
    with pytest.raises(FileFormatError, match=r"weights\['encoder\.layers\.0\.weight_hh'\]' is "
                                              "missing"):
        read_text_weights(tmp_path / "enc.safetensors")


def test_a_pretrained_language_model_with_a_bad_decoder_is_refused(exports, tmp_path):
    tensors, meta = read_bundle(exports["text_lm"])
    tensors["model.decoder.bias"] = tensors["model.decoder.bias"][:-1].clone()
    write_bundle(tmp_path / "lm.brisk", tensors, meta)
    with pytest.raises(FileFormatError, match=r"weights\['decoder\.bias'\]' has shape"):
        read_text_weights(tmp_path / "lm.brisk", need_decoder=True)


# ----- TextData files -------------------------------------------------------------------------
def _edited_data(source: Path, target: Path, edit_meta: Edit | None = None,
                 edit_arrays: Callable[[dict[str, np.ndarray]], None] | None = None) -> Path:
    arrays, meta = read_arrays(source, mmap=False)
    if edit_meta is not None:
        edit_meta(meta)
    if edit_arrays is not None:
        edit_arrays(arrays)
    return write_arrays(target, arrays, meta)


@pytest.mark.parametrize(("edit", "field"), [
    (_set("pipeline.vocab.tokens[14]", 14), r"'pipeline\.vocab\.tokens\[14\]' must be a string"),
    (_set("settings.bs", 0), r"'settings\.bs' must be at least 1"),
    (_set("settings.seq_len", "72"), r"'settings\.seq_len' must be a whole number"),
    (_set("settings.for_lm", True), r"'settings\.for_lm' is True but pipeline\.classes is a list"),
    (_set("settings.backwards", True), r"'settings\.backwards' is True but pipeline\.backwards"),
    (_set("settings.shuffle", True), r"'settings\.shuffle' is not a TextData setting"),
    (_set("pipeline.classes", ["negative", "positive", "neutral", "x"]), None),
])
def test_an_edited_text_data_file_is_refused_naming_the_field(exports, tmp_path, edit, field):
    path = _edited_data(exports["data"], tmp_path / "edited.textdata", edit)
    if field is None:   # more classes than labels use is fine: labels stay within them
        TextData.load(path)
        return
    with pytest.raises(FileFormatError, match=rf"'{path}' is damaged or was edited: .*{field}"):
        TextData.load(path)


@pytest.mark.parametrize(("change", "field"), [
    (lambda a: a.update(ids=np.append(a["ids"][:-1], 60_000).astype(a["ids"].dtype)),
     r"arrays\['ids'\]' holds values outside \[0, \d+\)"),
    (lambda a: a.update(offsets=a["offsets"][:-1]), r"arrays\['offsets'\]' must rise from 0"),
    (lambda a: a.update(offsets=a["offsets"][::-1].copy()), r"arrays\['offsets'\]'"),
    (lambda a: a.update(labels=a["labels"] + 5), r"arrays\['labels'\]' holds values outside"),
    (lambda a: a.update(labels=a["labels"][:-2]), r"arrays\['labels'\]' holds \d+ labels for"),
    (lambda a: a.update(train_docs=a["train_docs"] + 1000), r"arrays\['train_docs'\]'"),
    (lambda a: a.update(ids=a["ids"].astype(np.float32)), r"arrays\['ids'\]' must be a 1-D int"),
    (lambda a: a.pop("labels"), r"arrays\['labels'\]' is missing"),
])
def test_text_data_arrays_that_disagree_are_refused(exports, tmp_path, change, field):
    path = _edited_data(exports["data"], tmp_path / "edited.textdata", edit_arrays=change)
    with pytest.raises(FileFormatError, match=rf"'{path}' is damaged or was edited: .*{field}"):
        TextData.load(path)


# ----- the token cache ----------------------------------------------------------------------
def _flip_a_bit_in_the_ids(path: Path) -> None:
    data = bytearray(path.read_bytes())
    header_size = int.from_bytes(data[:8], "little")
    data[8 + header_size] ^= 0x01   # the first id (xxbos) now names another token: only the
    path.write_bytes(bytes(data))   # checksum can tell


def _rewrite(path: Path, change: Callable[[dict, dict], None]) -> None:
    arrays, meta = read_arrays(path, mmap=False)
    change(arrays, meta)
    write_arrays(path, arrays, meta)


CACHE_DAMAGE = {
    "zero bytes": lambda path: path.write_bytes(b""),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:-7]),
    "bad json": lambda path: path.write_bytes(path.read_bytes()[:8] + b"[" +
                                              path.read_bytes()[9:]),
    "bit flip": _flip_a_bit_in_the_ids,
    "wrong dtype": lambda path: _rewrite(path, lambda a, _: a.update(ids=a["ids"].astype("i8"))),
    "wrong shape": lambda path: _rewrite(path, lambda a, _: a.update(ids=a["ids"][None])),
    "ids beyond the tokens": lambda path: _rewrite(path,
                                                   lambda _, m: m.update(tokens=m["tokens"][:2])),
    "no checksum": lambda path: _rewrite(path, lambda a, m: m.pop("checksum")),
    "a folder": lambda path: (path.unlink(), path.mkdir()),
}


@pytest.mark.parametrize("damage", CACHE_DAMAGE.values(), ids=CACHE_DAMAGE.keys())
def test_a_damaged_token_cache_entry_is_rebuilt_with_a_warning(token_cache, damage):
    texts = make_reviews(30, seed=6)["text"].tolist()
    expected = list(Tokenizer().tokenize(texts))
    (entry,) = token_cache.glob("*.safetensors")
    damage(entry)
    with pytest.warns(BriskWarning, match="token cache entry .* is damaged"):
        assert list(Tokenizer().tokenize(texts)) == expected
    assert entry.is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error", BriskWarning)   # the rebuilt entry is whole again
        assert list(Tokenizer().tokenize(texts)) == expected


def test_a_missing_cache_entry_is_an_ordinary_miss(token_cache):
    texts = ["One text.", "Another."]
    expected = list(Tokenizer().tokenize(texts))
    for entry in token_cache.glob("*.safetensors"):
        entry.unlink()
    assert list(Tokenizer().tokenize(texts)) == expected
    assert len(list(token_cache.glob("*.safetensors"))) == 1


def test_a_cache_entry_keeps_its_warnings_and_gives_them_again(tmp_path, token_cache):
    path = tmp_path / "texts.csv"
    path.write_text('text\nGood film.\n""\nFine.\n')   # one empty row
    with pytest.warns(BriskWarning, match="1 of 3 texts are missing or empty"):
        first = list(Tokenizer().tokenize_csv(path, "text"))
    with pytest.warns(BriskWarning, match="1 of 3 texts are missing or empty"):
        assert list(Tokenizer().tokenize_csv(path, "text")) == first
    (entry,) = token_cache.glob("*.safetensors")
    assert json.loads(json.dumps(read_arrays(entry)[1]["warnings"]))


# ----- any edit of any field: refused or accepted, never a raw error ----------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8)


def _paths(value: Any, prefix: str = "") -> list[str]:
    """Paths to the fields of a JSON document (long lists: their first items and the last)."""
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index in [*range(min(len(value), 12)), len(value) - 1][:len(value)]:
            paths += _paths(value[index], f"{prefix}[{index}]")
    return paths


@pytest.fixture(scope="module")
def documents(exports) -> dict[str, tuple[dict[str, Any], dict[str, tuple[int, ...]]]]:
    found = {}
    for kind in LEARNERS:
        tensors, meta = read_bundle(exports[kind])
        found[kind] = (meta, {key.removeprefix("model."): tuple(value.shape)
                              for key, value in tensors.items()})
    return found


@settings(max_examples=80, deadline=None)
@given(data=st.data(), kind=st.sampled_from(sorted(LEARNERS)), delete=st.booleans())
def test_any_edit_of_a_pipeline_is_accepted_or_refused_naming_the_file(documents, data, kind,
                                                                       delete):
    meta, shapes = copy.deepcopy(documents[kind][0]), documents[kind][1]
    path = data.draw(st.sampled_from(_paths(meta["pipeline"], "pipeline")))
    if delete:
        _delete(path)(meta)
    else:
        _set(path, data.draw(JSON_VALUES))(meta)
    try:
        LEARNERS[kind].check_export(meta, shapes, "edited.brisk")
    except FileFormatError as error:
        assert str(error).startswith("'edited.brisk' is damaged or was edited") or \
            "custom rule" in str(error)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), delete=st.booleans())
def test_any_edit_of_an_encoder_file_is_accepted_or_refused_naming_the_file(exports, data,
                                                                            delete):
    tensors, meta = read_bundle(exports["encoder"])
    path = data.draw(st.sampled_from(_paths({key: meta[key] for key in
                                             ("config", "vocab", "tokenizer", "backwards")})))
    if delete:
        _delete(path)(meta)
    else:
        _set(path, data.draw(JSON_VALUES))(meta)
    with tempfile.TemporaryDirectory() as folder:
        target = write_bundle(Path(folder) / "enc.safetensors", tensors, meta)
        try:
            read_text_weights(target)
        except FileFormatError as error:
            assert f"'{target}'" in str(error)


# ----- subword tokenizers ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def subword_pipeline() -> dict[str, Any]:
    data = TextData.from_df(make_reviews(120, seed=9), "text", label_col="label",
                            valid_col="is_valid", tokenizer=SentencePieceTokenizer(vocab_sz=200),
                            bs=8, min_freq=1)
    return data.pipeline.to_json()


@pytest.mark.parametrize(("edit", "field"), [
    (_set("tokenizer.state.sentencepiece_model", base64.b64encode(b"not a model").decode()),
     r"'pipeline\.tokenizer\.state\.sentencepiece_model' is not a sentencepiece model"),
    (_delete("tokenizer.state.sentencepiece_model"),
     r"'pipeline\.tokenizer\.state\.sentencepiece_model' is missing"),
    (_set("tokenizer.settings.vocab_sz", 3), r"'pipeline\.tokenizer\.settings\.vocab_sz' must be "
                                             "at least"),
    (_set("tokenizer.settings.model_type", "magic"),
     r"'pipeline\.tokenizer\.settings\.model_type' must be one of"),
    (_set("tokenizer.settings.char_coverage", 2.0),
     r"'pipeline\.tokenizer\.settings\.char_coverage' must be at most 1"),
    (_set("tokenizer.settings.max_sentence_length", -1),
     r"'pipeline\.tokenizer\.settings\.max_sentence_length' must be at least 1"),
    (_set("tokenizer.settings.seed", 1), r"'pipeline\.tokenizer\.settings\.seed' is not an option"),
])
def test_an_edited_subword_tokenizer_is_refused_naming_the_field(subword_pipeline, edit, field):
    state = copy.deepcopy(subword_pipeline)
    edit(state)
    with pytest.raises(FileFormatError, match=rf"'model\.brisk' is damaged .*{field}"):
        TextPipeline.from_json(state, "model.brisk")
    assert TextPipeline.from_json(subword_pipeline).tokenizer.is_fitted
