"""TextLearner: what the language-model and classifier learners share.

The text pipeline (tokenizer, vocabulary, classes, direction) travels with the learner and its
export, so it can read new text after `load_learner`; the stock text callbacks (hidden-state
resets, AR/TAR) are always attached; the encoder can be saved alone and loaded into another text
model; every one-cycle fit uses ULMFiT's momentum unless told otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from briskml.callbacks import Callback
from briskml.checkpoint import load_model_state
from briskml.errors import ConfigError
from briskml.learner import Learner, Splitter
from briskml.losses import cross_entropy_flat
from briskml.schema import in_file
from briskml.text.awd_lstm import AWDLSTMConfig
from briskml.text.callbacks import ActivationRegularizer, ResetHiddenState
from briskml.text.memory import keep_freed_memory
from briskml.text.pipeline import TextPipeline, pipeline_json_from_0_1_0
from briskml.text.tokenizer import BaseTokenizer
from briskml.text.transfer import (
    check_architecture,
    check_direction,
    check_same_vocab,
    exported_text_pipeline,
    read_text_weights,
    write_encoder,
)
from briskml.text.vocab import Vocab


class TextLearner(Learner):
    """A Learner for an AWD-LSTM text model: keeps the text `pipeline` (read `vocab`, `tokenizer`
    and `backwards` through it), resets the hidden state at each epoch and validation, and adds
    AR (alpha) / TAR (beta) to the loss.

    Build one with `language_model_learner` or `text_classifier_learner`; for inference without
    data, pass `pipeline=TextPipeline(tokenizer, vocab, ...)`.
    """

    # ULMFiT's momentum (the lessons' moms=(0.8, 0.7)) for fit_one_cycle and fine_tune.
    default_moms: ClassVar[tuple[float, ...]] = (0.8, 0.7, 0.8)
    # The layer groups of this kind of model (set by each text learner).
    layer_splitter: ClassVar[Splitter | None] = None

    def __init__(self, data: Any, model: nn.Module, *, pipeline: TextPipeline | None = None,
                 alpha: float = 2.0, beta: float = 1.0, callbacks: Sequence[Callback] = (),
                 **learner_kwargs: Any) -> None:
        if pipeline is None:
            if data is None:
                raise ConfigError("A text learner needs TextData or, for inference, "
                                  "pipeline=TextPipeline(tokenizer, vocab).")
            pipeline = data.pipeline
        if not isinstance(pipeline, TextPipeline):
            raise ConfigError(f"pipeline must be a TextPipeline; got {type(pipeline).__name__}.")
        self.pipeline = pipeline
        vocab_size = model.encoder.config.vocab_size
        if len(pipeline.vocab) != vocab_size:
            raise ConfigError(f"The model's vocab_size is {vocab_size} but the vocab has "
                              f"{len(pipeline.vocab)} tokens.")
        learner_kwargs.setdefault("loss_func", cross_entropy_flat)
        learner_kwargs.setdefault("splitter", self.layer_splitter)
        stock = [ResetHiddenState(), ActivationRegularizer(alpha, beta)]
        super().__init__(data, model, callbacks=[*stock, *callbacks], **learner_kwargs)
        if self.device.type == "cpu":
            keep_freed_memory()

    # ----- the pipeline's parts, as 0.1.0 learners had them --------------------------------------
    @property
    def vocab(self) -> Vocab:
        """The vocabulary (the pipeline's)."""
        return self.pipeline.vocab

    @property
    def tokenizer(self) -> BaseTokenizer:
        """The tokenizer (the pipeline's)."""
        return self.pipeline.tokenizer

    @property
    def backwards(self) -> bool:
        """Whether the model reads each text from its end (the pipeline's direction)."""
        return self.pipeline.backwards

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

    # ----- export --------------------------------------------------------------------------------
    @classmethod
    def check_export(cls, meta: dict[str, Any], shapes: dict[str, tuple[int, ...]],
                     source: str) -> TextPipeline:
        """Refuse an export whose text pipeline does not fit its model, before the model is
        built: every field of meta["pipeline"] is checked (types, ranges, sizes), then the
        vocabulary's length against model.config's vocab_size and the embedding's rows, xxpad's
        index against pad_token, and the classes against n_classes (null for a language model).
        A FileFormatError names `source`, the field and both numbers."""
        with in_file(source, "pipeline"):
            return exported_text_pipeline(meta, cls.kind, shapes)

    @classmethod
    def _from_export(cls, meta: dict[str, Any], model: nn.Module,
                     device: str | torch.device | None,
                     pipeline: TextPipeline | None = None) -> TextLearner:
        """A learner for inference from an export's JSON: `pipeline` as `check_export` returned
        it, or, without it, the one in meta["pipeline"] checked the same way (a SchemaError
        names the field)."""
        if pipeline is None:
            shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
            pipeline = exported_text_pipeline(meta, cls.kind, shapes)
        return cls(None, model, pipeline=pipeline, device=device, progress=False)

    @classmethod
    def upgrade_v1(cls, meta: dict[str, Any], source: str) -> dict[str, Any]:
        """A briskml 0.1.0 export's JSON in today's shape: its "extra" (vocab, tokenizer,
        backwards, classes) becomes the pipeline JSON."""
        return {**meta, "pipeline": pipeline_json_from_0_1_0(meta.get("extra"), source)}
