"""Moving weights between text models: pretrained language models, encoder files, vocab mapping.

An encoder file (`save_encoder`) is a briskml bundle holding the AWD-LSTM encoder's tensors
("encoder.*"), its architecture and its vocabulary. An exported language model (or classifier)
holds the same encoder under "model.encoder.*", so either can feed `load_encoder`, and an exported
language model can feed `pretrained=`. Exports of both file formats are read (2: the text
pipeline's JSON under "pipeline"; 1, briskml 0.1.0: its parts under "extra"); every file stores
its tokenizer as `BaseTokenizer.to_json` writes it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from briskml.checkpoint import load_model_state
from briskml.download import download
from briskml.errors import BriskWarning, ConfigError, DataError, FileFormatError
from briskml.persist import read_bundle, write_bundle
from briskml.text.awd_lstm import ARCHITECTURE_FIELDS, AWDLSTMConfig
from briskml.text.pipeline import pipeline_json_from_0_1_0
from briskml.text.tokenizer import BaseTokenizer, upgrade_tokenizer_json
from briskml.text.vocab import Vocab

ENCODER_CONTENT = "text_encoder"
TEXT_KINDS = ("text_lm", "text_classifier")
# What must agree for an encoder's weights to fit (the decoder's options do not matter).
ENCODER_FIELDS = ("emb_sz", "n_hid", "n_layers", "pad_token")
_URL_SCHEMES = ("http://", "https://", "file://")


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
    """The encoder (and, for an exported language model, decoder) tensors of a text model file.

    Keys come back without their file prefix: "encoder.*", "decoder.*".
    """
    tensors, meta = read_bundle(path)
    content, kind = meta.get("content"), meta.get("kind")
    if content == ENCODER_CONTENT and not need_decoder:
        tokenizer = meta.get("tokenizer")
        if tokenizer is not None:
            tokenizer = upgrade_tokenizer_json(tokenizer, f"'{path}'")
        return TextWeights(_strip(tensors, ""), meta["config"], _vocab(meta["vocab"], path),
                           tokenizer, str(path), meta.get("backwards"))
    allowed = ("text_lm",) if need_decoder else TEXT_KINDS
    if content != "learner" or kind not in allowed:
        found = f"an exported {kind!r} learner" if content == "learner" else f"a {content!r} file"
        wanted = "an exported language model" if need_decoder else \
            "an encoder from save_encoder or an exported language model"
        raise FileFormatError(f"'{path}' is {found}; expected {wanted}.")
    config = meta["model"]["config"]
    if kind == "text_classifier":
        config = config["encoder"]
    pipeline = exported_pipeline_json(meta, str(path))
    return TextWeights(_strip(tensors, "model."), config, _vocab(pipeline["vocab"], path),
                       pipeline["tokenizer"], str(path), pipeline["backwards"])


def exported_pipeline_json(meta: dict[str, Any], source: str) -> dict[str, Any]:
    """The text pipeline JSON of an exported text learner of either file format: 2 keeps it
    under "pipeline", 1 (briskml 0.1.0) its parts under "extra"."""
    if meta.get("export_version", 1) == 1:
        return pipeline_json_from_0_1_0(meta.get("extra"), source)
    pipeline = meta.get("pipeline")
    if not isinstance(pipeline, dict) or "vocab" not in pipeline or "tokenizer" not in pipeline:
        raise FileFormatError(f"'{source}' holds no text pipeline (vocabulary and tokenizer); "
                              "export the model again.")
    return pipeline


def _strip(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def _vocab(document: dict[str, Any], path: str | os.PathLike) -> Vocab:
    return Vocab.from_dict(document, f"the vocabulary in '{path}'")


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
    settings = upgrade_tokenizer_json(found, source)["settings"]
    if settings != tokenizer.options():
        warnings.warn(f"'{source}' was trained on text tokenised with {settings}, but this data "
                      f"uses {tokenizer.options()}; words split differently transfer poorly.",
                      BriskWarning, stacklevel=3)


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
        warnings.warn(f"{share:.0%} of the tokens of {texts} are unknown to the vocabulary of "
                      f"{encoder} and read as xxunk; to do better, {fix}.", BriskWarning,
                      stacklevel=3)
