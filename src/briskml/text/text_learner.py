"""TextLearner: what the language-model and classifier learners share.

The vocabulary and tokenizer travel with the learner (and its export), so it can read new text
after `load_learner`; the stock text callbacks (hidden-state resets, AR/TAR) are always attached;
the encoder can be saved alone and loaded into another text model.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from briskml.callbacks import Callback
from briskml.checkpoint import load_model_state
from briskml.errors import ConfigError
from briskml.learner import Learner
from briskml.text.awd_lstm import AWDLSTMConfig
from briskml.text.callbacks import ActivationRegularizer, ResetHiddenState
from briskml.text.memory import keep_freed_memory
from briskml.text.tokenizer import BaseTokenizer, Tokenizer, tokenizer_from_json
from briskml.text.transfer import (
    check_architecture,
    check_direction,
    check_same_vocab,
    read_text_weights,
    write_encoder,
)
from briskml.text.vocab import Vocab


class TextLearner(Learner):
    """A Learner for an AWD-LSTM text model: keeps `vocab`, `tokenizer` and `backwards`, resets
    the hidden state at each epoch and validation, and adds AR (alpha) / TAR (beta) to the loss.

    Build one with `language_model_learner` or `text_classifier_learner`.
    """

    def __init__(self, data: Any, model: nn.Module, *, vocab: Vocab | None = None,
                 tokenizer: BaseTokenizer | None = None, backwards: bool | None = None,
                 alpha: float = 2.0, beta: float = 1.0, callbacks: Sequence[Callback] = (),
                 **learner_kwargs: Any) -> None:
        if data is None and vocab is None:
            raise ConfigError("A text learner needs TextData or, for inference, a vocab.")
        self.vocab = vocab if vocab is not None else data.vocab
        self.tokenizer = tokenizer or (data.tokenizer if data is not None else Tokenizer())
        if backwards is None:
            backwards = bool(data.settings.backwards) if data is not None else False
        self.backwards = backwards
        vocab_size = model.encoder.config.vocab_size
        if len(self.vocab) != vocab_size:
            raise ConfigError(f"The model's vocab_size is {vocab_size} but the vocab has "
                              f"{len(self.vocab)} tokens.")
        stock = [ResetHiddenState(), ActivationRegularizer(alpha, beta)]
        super().__init__(data, model, callbacks=[*stock, *callbacks], **learner_kwargs)
        if self.device.type == "cpu":
            keep_freed_memory()

    @property
    def config(self) -> AWDLSTMConfig:
        """The AWD-LSTM encoder's configuration (sizes and dropout)."""
        return self.model.encoder.config

    @property
    def encoder(self) -> nn.Module:
        """The AWD-LSTM encoder: embedding and LSTM layers."""
        return self.model.encoder

    # ----- encoders ------------------------------------------------------------------------------
    def save_encoder(self, name: str) -> Path:
        """Save the encoder (embedding + LSTMs) with its vocabulary to path/models/<name>.

        Example:
            >>> learn.save_encoder("fine_tuned_enc")
            >>> learn_clas.load_encoder("fine_tuned_enc")
        """
        path = self._checkpoint_path(name)
        return write_encoder(path, self.encoder, self.config, self.vocab, self.tokenizer,
                             self.backwards)

    def load_encoder(self, name_or_path: str | os.PathLike) -> TextLearner:
        """Load an encoder saved by `save_encoder(name)` (or the encoder of an exported language
        model, given its path), then `freeze()`. Sizes and vocabulary must match this model's.

        Example:
            >>> learn.load_encoder("fine_tuned_enc")
            >>> learn.load_encoder("models/imdb_lm.brisk")
        """
        path = self._encoder_path(name_or_path)
        weights = read_text_weights(path)
        check_architecture(self.config, weights.config, str(path))
        check_same_vocab(self.vocab, weights.vocab, str(path))
        check_direction(self.backwards, weights)
        tensors = {key[len("encoder."):]: value for key, value in weights.tensors.items()
                   if key.startswith("encoder.")}
        load_model_state(self.encoder, tensors, str(path))
        self.freeze()
        return self

    def _encoder_path(self, name_or_path: str | os.PathLike) -> Path:
        candidate = Path(name_or_path)
        if candidate.suffix in (".brisk", ".safetensors") and candidate.is_file():
            return candidate
        by_name = self._checkpoint_path(str(name_or_path))
        if by_name.is_file():
            return by_name
        if candidate.is_file():
            return candidate
        raise FileNotFoundError(f"No encoder named {str(name_or_path)!r}: neither '{by_name}' "
                                f"nor '{candidate}' exists. Save one with learn.save_encoder(name) "
                                "or pass the path of an exported language model.")

    # ----- text in, ids out ----------------------------------------------------------------------
    def _ids_of(self, text: str) -> Tensor:
        """Token ids of one text (reversed for a backwards model), unknown words as xxunk."""
        if not isinstance(text, str):
            raise ConfigError(f"Expected a text (str); got {type(text).__name__}.")
        ids = self.vocab.numericalize(self.tokenizer(text))
        return ids.flip(0) if self.backwards else ids

    # ----- export --------------------------------------------------------------------------------
    def _export_extra(self) -> dict[str, Any]:
        return {"vocab": self.vocab.to_dict(), "tokenizer": self.tokenizer.to_json(),
                "backwards": self.backwards}

    @staticmethod
    def _extra_from_export(meta: dict[str, Any]) -> dict[str, Any]:
        """vocab, tokenizer and backwards from an export's JSON."""
        extra = meta["extra"]
        return {"vocab": Vocab.from_dict(extra["vocab"], "the exported vocabulary"),
                "tokenizer": tokenizer_from_json(extra["tokenizer"], "the exported tokenizer"),
                "backwards": bool(extra.get("backwards", False))}


def device_of(model: nn.Module) -> torch.device:
    """Where the model's parameters live."""
    return next(model.parameters()).device
