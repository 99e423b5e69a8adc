"""Moving weights between text models: pretrained language models, encoder files, vocab mapping.

An encoder file (`save_encoder`) is a briskml bundle holding the AWD-LSTM encoder's tensors
("encoder.*"), its architecture and its vocabulary. An exported language model (or classifier)
holds the same encoder under "model.encoder.*", so either can feed `load_encoder`, and an exported
language model can feed `pretrained=`. Exports of both file formats are read (2: the text
pipeline's JSON under "pipeline"; 1, briskml 0.1.0: its parts under "extra"); every file stores
its tokenizer as `BaseTokenizer.to_json` writes it.

Every file is checked before anything is built from it: its JSON field by field, its vocabulary
against the model's sizes, and its tensors' shapes against both (a FileFormatError names the file
and the field, e.g. `'lm.brisk' is damaged or was edited: field 'pipeline.vocab.tokens' has 124
tokens but the embedding (weights 'encoder.embedding.weight') has 123 rows`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from briskml.checkpoint import load_model_state
from briskml.download import download
from briskml.errors import ConfigError, DataError, FileFormatError, warn
from briskml.persist import read_bundle, write_bundle
from briskml.schema import (
    expect_bool,
    expect_dict,
    expect_int,
    expect_key,
    expect_optional,
    fail,
    in_file,
)
from briskml.text.awd_lstm import ARCHITECTURE_FIELDS, AWDLSTMConfig
from briskml.text.pipeline import TextPipeline, pipeline_json_from_0_1_0, read_pipeline_json
from briskml.text.tokenizer import BaseTokenizer, check_tokenizer_json
from briskml.text.vocab import MAX_TOKENS, Vocab

ENCODER_CONTENT = "text_encoder"
TEXT_KINDS = ("text_lm", "text_classifier")
# What must agree for an encoder's weights to fit (the decoder's options do not matter).
ENCODER_FIELDS = ("emb_sz", "n_hid", "n_layers", "pad_token")
_URL_SCHEMES = ("http://", "https://", "file://")
# The largest layer size and number of LSTM layers a file may ask for.
MAX_LAYER_SIZE = 1 << 16
MAX_LAYERS = 64
_EMBEDDING = "encoder.embedding.weight"
_FIX = "Save or export it again."


@dataclass
class TextWeights:
    """Tensors read from a text model file, with the architecture and vocab they belong to."""

    tensors: dict[str, Tensor]
    config: dict[str, Any]
    vocab: Vocab
    tokenizer: dict[str, Any] | None   # as BaseTokenizer.to_json writes it
    source: str
    backwards: bool | None = None  # the reading direction it was trained in (None: not recorded)


# ----- reading files --------------------------------------------------------------------------
def resolve_source(source: str | os.PathLike) -> Path:
    """A local path for `source`: a URL (http, https, file) is downloaded into the cache.

    A URL may end in `#sha256=<hex>` (as pip writes it): the cached file is then reused only if
    its checksum matches, and a download with another checksum is refused and not kept.
    """
    text = str(source)
    if text.startswith(_URL_SCHEMES):
        url, _, fragment = text.partition("#")
        sha256 = None
        if fragment:
            name, _, value = fragment.partition("=")
            if name != "sha256" or len(value) != 64:
                raise ConfigError(f"The URL fragment '#{fragment}' is not understood; write "
                                  "'#sha256=<64 hex digits>' to check the download, or leave it "
                                  "out.")
            sha256 = value
        return download(url, sha256=sha256)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: '{path}'. Pass the path of a language model "
                                "exported by briskml (learn.export) or its URL.")
    return path


def read_text_weights(path: str | os.PathLike, need_decoder: bool = False) -> TextWeights:
    """The encoder (and, for an exported language model, decoder) tensors of a text model file,
    checked against its JSON before they are returned (a FileFormatError names the file and the
    field otherwise).

    Keys come back without their file prefix: "encoder.*", "decoder.*".
    """
    tensors, meta = read_bundle(path)
    content, kind = meta.get("content"), meta.get("kind")
    if content == ENCODER_CONTENT and not need_decoder:
        with in_file(str(path), "encoder file", _FIX):
            return _encoder_file_weights(tensors, meta, str(path))
    allowed = ("text_lm",) if need_decoder else TEXT_KINDS
    if content != "learner" or kind not in allowed:
        found = f"an exported {kind!r} learner" if content == "learner" else f"a {content!r} file"
        wanted = "an exported language model" if need_decoder else \
            "an encoder from save_encoder or an exported language model"
        raise FileFormatError(f"'{path}' is {found}; expected {wanted}.")
    with in_file(str(path), "model", _FIX):
        return _exported_weights(tensors, meta, kind, str(path), need_decoder)


def _encoder_file_weights(tensors: dict[str, Tensor], meta: dict[str, Any],
                          source: str) -> TextWeights:
    config = check_encoder_config(expect_key(meta, "config", ""), "config")
    vocab = Vocab.from_dict(expect_key(meta, "vocab", ""), field="vocab")
    tokenizer = expect_optional(meta.get("tokenizer"), "tokenizer", check_tokenizer_json)
    backwards = expect_optional(meta.get("backwards"), "backwards", expect_bool)
    _check_pad(vocab, config["pad_token"], "config.pad_token", "vocab")
    check_shapes(_shapes(tensors), encoder_shapes(config, len(vocab)), exact=True)
    return TextWeights(dict(tensors), config, vocab, tokenizer, source, backwards)


def _exported_weights(tensors: dict[str, Tensor], meta: dict[str, Any], kind: str, source: str,
                      need_decoder: bool) -> TextWeights:
    model_tensors = _strip(tensors, "model.")
    parts = read_pipeline_json(exported_pipeline_json(meta, source), "pipeline")
    model = expect_dict(expect_key(meta, "model", ""), "model")
    config = check_fits_model(parts.vocab, parts.classes, expect_key(model, "config", "model"),
                              kind, _shapes(model_tensors))
    expected = encoder_shapes(config, len(parts.vocab))
    if need_decoder:
        expected.update(decoder_shapes(config, len(parts.vocab)))
    check_shapes(_shapes(model_tensors), expected, exact=False)
    return TextWeights(model_tensors, config, parts.vocab, parts.tokenizer, source,
                       parts.backwards)


def exported_pipeline_json(meta: dict[str, Any], source: str) -> dict[str, Any]:
    """The text pipeline JSON of an exported text learner of either file format: 2 keeps it
    under "pipeline", 1 (briskml 0.1.0) its parts under "extra" (checked by the reader)."""
    if meta.get("export_version", 1) == 1:
        return pipeline_json_from_0_1_0(meta.get("extra"), source)
    return expect_key(meta, "pipeline", "")


def exported_text_pipeline(meta: dict[str, Any], kind: str,
                           shapes: Mapping[str, tuple[int, ...]]) -> TextPipeline:
    """The pipeline of an exported text learner, built after its JSON is checked field by field
    and against the model's config and tensor `shapes` (keys without "model."): a SchemaError
    names the field otherwise."""
    pipeline = TextPipeline.from_json(expect_key(meta, "pipeline", ""), field="pipeline")
    model = expect_dict(expect_key(meta, "model", ""), "model")
    check_fits_model(pipeline.vocab, pipeline.classes, expect_key(model, "config", "model"),
                     kind, shapes)
    return pipeline


# ----- what files must agree on ------------------------------------------------------------------
def check_encoder_config(config: Any, field: str, language_model: bool = False
                         ) -> dict[str, Any]:
    """An AWD-LSTM config as a file holds it, its sizes checked (emb_sz, n_hid, n_layers,
    pad_token; a language model's tie_weights and out_bias too); a SchemaError names the
    field."""
    config = expect_dict(config, field)
    checked = {name: expect_int(expect_key(config, name, field), f"{field}.{name}", 1,
                                MAX_LAYER_SIZE) for name in ("emb_sz", "n_hid")}
    checked["n_layers"] = expect_int(expect_key(config, "n_layers", field), f"{field}.n_layers",
                                     1, MAX_LAYERS)
    checked["pad_token"] = expect_int(expect_key(config, "pad_token", field),
                                      f"{field}.pad_token", 0)
    for name in ("tie_weights", "out_bias"):
        if language_model or name in config:
            checked[name] = expect_bool(expect_key(config, name, field), f"{field}.{name}")
    return {**config, **checked}


def check_fits_model(vocab: Vocab, classes: list[Any] | None, model_config: Any, kind: str,
                     shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
    """Cross-check an exported text learner's pipeline with its model (`model_config`, already
    a valid config of `kind`) and tensor `shapes`: vocabulary length = vocab_size = embedding
    rows, xxpad at pad_token, as many classes as outputs (none for a language model). Returns
    the encoder's config; a SchemaError names the field and both numbers otherwise."""
    model_config = expect_dict(model_config, "model.config")
    if kind == "text_classifier":
        field = "model.config.encoder"
        encoder = expect_key(model_config, "encoder", "model.config")
        n_classes = expect_int(expect_key(model_config, "n_classes", "model.config"),
                               "model.config.n_classes", 2)
        if classes is None or len(classes) != n_classes:
            found = "null" if classes is None else f"{len(classes)} classes"
            raise fail("pipeline.classes", f"holds {found} but the model has {n_classes} "
                       "outputs (model.config.n_classes)")
    else:
        field, encoder = "model.config", model_config
        if classes is not None:
            raise fail("pipeline.classes", f"must be null for a language model; got "
                       f"{len(classes)} classes")
    config = check_encoder_config(encoder, field, language_model=kind == "text_lm")
    embedding = shapes.get(_EMBEDDING)
    if embedding is None or len(embedding) != 2:
        raise fail(f"weights['{_EMBEDDING}']", f"must be a 2-D embedding; got {embedding}")
    if len(vocab) != embedding[0]:
        raise fail("pipeline.vocab.tokens", f"has {len(vocab)} tokens but the embedding "
                   f"(weights '{_EMBEDDING}') has {embedding[0]} rows")
    vocab_size = expect_int(expect_key(config, "vocab_size", field), f"{field}.vocab_size", 1,
                            MAX_TOKENS)
    if len(vocab) != vocab_size:
        raise fail("pipeline.vocab.tokens", f"has {len(vocab)} tokens but {field}.vocab_size is "
                   f"{vocab_size}")
    _check_pad(vocab, config["pad_token"], f"{field}.pad_token", "pipeline.vocab")
    return config


def _check_pad(vocab: Vocab, pad_token: int, field: str, vocab_field: str) -> None:
    if vocab.pad_id != pad_token:
        raise fail(field, f"is {pad_token} but {vocab_field} has xxpad at index {vocab.pad_id}")


def encoder_shapes(config: Mapping[str, Any], vocab_size: int) -> dict[str, tuple[int, ...]]:
    """The encoder's tensor shapes ("encoder.*") for an AWD-LSTM `config` and vocabulary size."""
    sizes = AWDLSTMConfig(emb_sz=config["emb_sz"], n_hid=config["n_hid"],
                          n_layers=config["n_layers"]).layer_sizes()
    shapes: dict[str, tuple[int, ...]] = {_EMBEDDING: (vocab_size, config["emb_sz"])}
    for layer, (input_size, hidden_size) in enumerate(sizes):
        gates = 4 * hidden_size
        shapes.update({f"encoder.layers.{layer}.weight_ih": (gates, input_size),
                       f"encoder.layers.{layer}.weight_hh": (gates, hidden_size),
                       f"encoder.layers.{layer}.bias_ih": (gates,),
                       f"encoder.layers.{layer}.bias_hh": (gates,)})
    return shapes


def decoder_shapes(config: Mapping[str, Any], vocab_size: int) -> dict[str, tuple[int, ...]]:
    """A language model's decoder shapes ("decoder.*")."""
    shapes: dict[str, tuple[int, ...]] = {"decoder.weight": (vocab_size, config["emb_sz"])}
    if config.get("out_bias", True):
        shapes["decoder.bias"] = (vocab_size,)
    return shapes


def check_shapes(found: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]],
                 exact: bool) -> None:
    """Every expected tensor is there with its shape (and, when `exact`, nothing else is); a
    SchemaError names the tensor and both shapes."""
    for key, shape in expected.items():
        if key not in found:
            raise fail(f"weights['{key}']", f"is missing; the config needs shape {shape}")
        if tuple(found[key]) != shape:
            raise fail(f"weights['{key}']", f"has shape {tuple(found[key])} but the config and "
                       f"vocabulary need {shape}")
    extra = sorted(set(found) - set(expected)) if exact else []
    if extra:
        raise fail(f"weights['{extra[0]}']", "is not part of an AWD-LSTM encoder")


def _shapes(tensors: Mapping[str, Tensor]) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in tensors.items()}


def _strip(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def write_encoder(path: Path, encoder: nn.Module, config: AWDLSTMConfig, vocab: Vocab,
                  tokenizer: BaseTokenizer | None, backwards: bool = False) -> Path:
    """Write an encoder file: its weights, architecture, vocabulary and reading direction."""
    meta = {"content": ENCODER_CONTENT, "config": {name: getattr(config, name)
                                                   for name in ENCODER_FIELDS},
            "vocab": vocab.to_dict(), "backwards": backwards,
            "tokenizer": None if tokenizer is None else tokenizer.to_json()}
    tensors = {f"encoder.{key}": value for key, value in encoder.state_dict().items()}
    return write_bundle(path, tensors, meta)


# ----- checks ---------------------------------------------------------------------------------
def check_direction(backwards: bool, weights: TextWeights) -> None:
    """Refuse weights trained reading the other way (a forward model for backwards data ...)."""
    if weights.backwards is None or bool(weights.backwards) == backwards:
        return
    name = {True: "backwards (right to left)", False: "forwards (left to right)"}
    trained = name[bool(weights.backwards)]
    raise ConfigError(f"'{weights.source}' was trained reading text {trained}, but this data "
                      f"reads {name[bool(backwards)]}; build the data with "
                      f"backwards={weights.backwards} or use a model trained the same way.")


def check_architecture(config: AWDLSTMConfig, found: dict[str, Any], source: str,
                       fields: tuple[str, ...] = ENCODER_FIELDS) -> None:
    """Raise naming every field where the file's architecture differs from `config`."""
    differences = [f"{name}={found.get(name)!r} there but {getattr(config, name)!r} here"
                   for name in fields if found.get(name) != getattr(config, name)]
    if differences:
        raise ConfigError(
            f"The model in '{source}' does not match this architecture: "
            f"{'; '.join(differences)}. Build the learner with the same sizes, e.g. "
            f"config=dict({', '.join(f'{name}={found.get(name)!r}' for name in fields)}).")


def check_same_vocab(expected: Vocab, found: Vocab, source: str) -> None:
    """Raise with the sizes when an encoder's vocabulary is not the data's."""
    if expected == found:
        return
    if len(expected) != len(found):
        detail = f"{len(found)} tokens there, {len(expected)} in this data"
    else:
        different = sum(a != b for a, b in zip(expected.tokens, found.tokens, strict=True))
        detail = f"both have {len(found)} tokens but {different} differ"
    raise ConfigError(
        f"The encoder in '{source}' was trained with another vocabulary ({detail}), so its "
        "embedding rows would mean other words. Build the classifier's data with the language "
        "model's vocabulary: TextData.from_df(..., vocab=data_lm.vocab).")


def warn_if_other_tokenizer(tokenizer: BaseTokenizer, found: dict[str, Any] | None,
                            source: str) -> None:
    """A pretrained model read text split differently: say so, it will transfer poorly."""
    if found is None:
        return
    with in_file(source, "tokenizer", _FIX):
        settings = check_tokenizer_json(found)["settings"]
    if settings != tokenizer.options():
        warn(f"'{source}' was trained on text tokenised with {settings}, but this data uses "
             f"{tokenizer.options()}; words split differently transfer poorly.")


# ----- vocabulary mapping ---------------------------------------------------------------------
def match_embeddings(weight: Tensor, bias: Tensor | None, old_vocab: Vocab, new_vocab: Vocab
                     ) -> tuple[Tensor, Tensor | None, int]:
    """Rows for `new_vocab`: a word of the old vocabulary keeps its pretrained row (and decoder
    bias); a new word gets the mean row (and mean bias). Returns (weight, bias, words found)."""
    lookup = old_vocab.index
    positions = torch.tensor([lookup.get(token, -1) for token in new_vocab.tokens])
    found = positions >= 0
    new_weight = weight[positions.clamp(min=0)].clone()
    new_weight[~found] = weight.mean(dim=0)
    new_bias = None
    if bias is not None:
        new_bias = bias[positions.clamp(min=0)].clone()
        new_bias[~found] = bias.mean()
    return new_weight, new_bias, int(found.sum())


def load_pretrained_lm(model: nn.Module, weights: TextWeights, vocab: Vocab) -> int:
    """Copy a pretrained language model into `model`, mapping its vocabulary onto `vocab`.

    Returns how many of `vocab`'s words the pretrained vocabulary knew.
    """
    tensors = dict(weights.tensors)
    config = model.config
    check_architecture(config, weights.config, weights.source, ARCHITECTURE_FIELDS)
    embedding, bias, num_found = match_embeddings(
        tensors["encoder.embedding.weight"], tensors.get("decoder.bias"), weights.vocab, vocab)
    tensors["encoder.embedding.weight"] = embedding
    if bias is not None:
        tensors["decoder.bias"] = bias
    if config.tie_weights:
        tensors["decoder.weight"] = embedding
    else:
        tensors["decoder.weight"] = match_embeddings(tensors["decoder.weight"], None,
                                                     weights.vocab, vocab)[0]
    load_model_state(model, tensors, weights.source)
    return num_found


# Share of xxunk tokens in a classifier's data above which an encoder's vocabulary is refused
# (it was learnt on other text) or, above the second, questioned with a warning.
MAX_UNKNOWN_SHARE = 0.5
WARN_UNKNOWN_SHARE = 0.1


def check_vocabulary_covers(data: Any, encoder: str, texts: str, fix: str) -> None:
    """Refuse an encoder whose vocabulary reads most of `data`'s tokens as xxunk (it was learnt
    on other text), and warn when many are; `encoder` and `texts` name them, `fix` says what to
    do instead."""
    ids = np.asarray(data.ids)
    share = np.count_nonzero(ids == data.vocab.unk_id) / max(len(ids), 1)
    if share > MAX_UNKNOWN_SHARE:
        raise DataError(f"{share:.0%} of the tokens of {texts} are unknown to the vocabulary of "
                        f"{encoder} ({len(data.vocab):,} tokens), which was learnt on other "
                        f"text; {fix}.")
    if share > WARN_UNKNOWN_SHARE:
        warn(f"{share:.0%} of the tokens of {texts} are unknown to the vocabulary of {encoder} "
             f"and read as xxunk; to do better, {fix}.")
