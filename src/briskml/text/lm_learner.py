"""LanguageModelLearner and language_model_learner: fine-tune, generate, save the encoder.

Example:
    >>> learn = language_model_learner(data_lm, AWD_LSTM, pretrained="wt2_lm.brisk",
    ...                                drop_mult=0.3)
    >>> learn.fine_tune(10, base_lr=2e-2)   # embedding + decoder first, then every layer
    >>> learn.predict("I liked this movie because", n_words=40, temperature=0.75)
    >>> learn.save_encoder("ft_enc")
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from briskml.data import set_seed
from briskml.errors import ConfigError, DataError
from briskml.metrics import Metric, accuracy, perplexity
from briskml.text.awd_lstm import (
    AWD_LSTM,
    LM_DROPOUTS,
    AWDLSTMConfig,
    AWDLSTMLanguageModel,
    check_arch,
    language_model_splitter,
    resolve_config,
)
from briskml.text.data import TextData
from briskml.text.generate import SamplingOptions, banned_ids, generate_ids
from briskml.text.text_learner import TextLearner
from briskml.text.tokenizer.rules import BOS, EOS
from briskml.text.transfer import (
    ARCHITECTURE_FIELDS,
    check_direction,
    load_pretrained_lm,
    read_text_weights,
    resolve_source,
    warn_if_other_tokenizer,
)


class LanguageModelLearner(TextLearner):
    """A TextLearner for a language model: `predict(text)` continues a text; `save_encoder` keeps
    the embedding and LSTMs for a classifier. Build it with `language_model_learner`.
    """

    kind = "text_lm"
    table_alternative = ('a language model continues a text: call learn.predict("a prompt", '
                         'n_words=40), or run `briskml text generate MODEL "a prompt"`.')
    layer_splitter = staticmethod(language_model_splitter)

    def predict(self, item: str = "", n_words: int = 50, temperature: float = 1.0,
                min_p: float | None = None, top_k: int | None = None, no_unk: bool = True,
                seed: int | None = None) -> str:
        """The prompt `item` followed by `n_words` generated words, as readable text.

        Contract: `item` is one text (str), the prompt; the result is one str, the prompt's
        readable text (xxmaj/xxup undone) then the new words. An empty prompt starts a new
        document (xxbos); unknown words read as xxunk. With `seed` (or after torch.manual_seed)
        the same call gives the same words. A backwards model writes the words that come before
        the prompt. Sampling: `temperature` (0 = always the most likely word), `min_p`, `top_k`,
        and `no_unk` never generates xxunk.

        Example:
            >>> learn.predict("I liked this movie because", n_words=40, temperature=0.75)
            >>> learn.predict("", n_words=20, seed=0)   # a new review from nothing
        """
        prompt = self._prompt_ids(item)
        vocab = self.vocab
        banned = [vocab.pad_id, *([vocab.unk_id] if no_unk else [])]
        options = SamplingOptions(temperature, min_p, top_k, banned_ids(banned))
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        new_ids = generate_ids(self.model, prompt, n_words, options, generator)
        return self.pipeline.text(prompt.tolist() + new_ids)

    def _prompt_ids(self, text: str) -> torch.Tensor:
        """The prompt's ids in the model's order; a trailing xxeos is dropped so the model
        continues the text instead of starting a new one."""
        if not isinstance(text, str):
            raise ConfigError(f"predict takes a text (str) to continue; got {type(text).__name__}.")
        tokens = self.tokenizer(text)
        if tokens and tokens[-1] == EOS:
            tokens = tokens[:-1]
        if not tokens:
            tokens = [BOS]
        return self.pipeline.oriented(self.vocab.numericalize(tokens))


def language_model_learner(data_lm: TextData, arch: Any = AWD_LSTM,
                           config: AWDLSTMConfig | Mapping[str, Any] | None = None,
                           pretrained: str | os.PathLike | None = None, drop_mult: float = 1.0,
                           metrics: Metric | Sequence[Metric] = (accuracy, perplexity),
                           **learner_kwargs: Any) -> LanguageModelLearner:
    """A LanguageModelLearner with an AWD-LSTM sized for `data_lm` (the lessons' defaults:
    emb_sz=400, n_hid=1152, n_layers=3; override with `config=dict(...)`).

    `pretrained` is the path or URL of a language model exported by briskml: its weights are
    loaded (words of `data_lm`'s vocabulary it does not know start from the mean embedding) and
    the learner is frozen, so the first fit trains the embedding and decoder. Layer groups: one
    per LSTM layer, then embedding + decoder. AR (alpha=2) and TAR (beta=1) are on; pass
    alpha=0, beta=0 to switch them off, or callbacks=[GradientClip(0.1)] to clip.

    Example:
        >>> learn = language_model_learner(data_lm, AWD_LSTM, config=dict(emb_sz=200, n_hid=400,
        ...                                n_layers=2), pretrained="wt2_lm.brisk", drop_mult=0.3)
        >>> learn.fine_tune(4, base_lr=1e-2)
    """
    check_arch(arch)
    if not isinstance(data_lm, TextData) or not data_lm.for_lm:
        raise DataError("language_model_learner needs language-model data: "
                        "TextData.from_df(..., for_lm=True).")
    weights = None
    if pretrained is not None:
        source = resolve_source(pretrained)
        weights = read_text_weights(source, need_decoder=True)
        warn_if_other_tokenizer(data_lm.tokenizer, weights.tokenizer, str(source))
        check_direction(bool(data_lm.settings.backwards), weights)
        if config is None:  # the pretrained sizes, with the lessons' LM dropout
            config = {**LM_DROPOUTS, **{name: weights.config[name]
                                        for name in ARCHITECTURE_FIELDS}}
    config = resolve_config(config, len(data_lm.vocab), LM_DROPOUTS, drop_mult)
    if learner_kwargs.get("seed") is not None:
        set_seed(learner_kwargs["seed"])  # so the initial weights repeat too
    model = AWDLSTMLanguageModel(config)
    if weights is not None:
        load_pretrained_lm(model, weights, data_lm.vocab)
    learn = LanguageModelLearner(data_lm, model, metrics=metrics, **learner_kwargs)
    if weights is not None:
        learn.freeze()
    return learn
