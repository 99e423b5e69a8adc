"""TextClassifierLearner and text_classifier_learner: ULMFiT's classifier, gradual unfreezing,
prediction on raw text, and the forward + backward ensemble.

Example:
    >>> learn = text_classifier_learner(data_clas, AWD_LSTM, drop_mult=0.5)
    >>> learn.load_encoder("ft_enc")
    >>> learn.fit_gradual(lr=2e-2)
    >>> learn.predict("What a wonderful film!")     # ('positive', {'negative': 0.03, ...})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from briskml.callbacks import Callback
from briskml.checks import check_positive_int
from briskml.data import set_seed
from briskml.errors import ConfigError, DataError
from briskml.frames import check_columns
from briskml.inference import inference, original_order
from briskml.metrics import Metric, accuracy
from briskml.text.awd_lstm import (
    AWD_LSTM,
    CLASSIFIER_DROPOUTS,
    AWDLSTMConfig,
    check_arch,
    resolve_config,
)
from briskml.text.classifier_model import AWDLSTMClassifier, classifier_config, classifier_splitter
from briskml.text.data import TextData
from briskml.text.text_learner import TextLearner
from briskml.text.tokenizer import clean_texts, join_fields

PREDICT_BS = 64
# fit_gradual's stages: (freeze_to argument, divisor of lr for the top group).
GRADUAL_STAGES = ((-1, 1.0), (-2, 2.0), (-3, 4.0), (0, 20.0))


class TextClassifierLearner(TextLearner):
    """A TextLearner for a classifier: gradual unfreezing, prediction on raw text, `classes`.

    Build it with `text_classifier_learner`.
    """

    kind = "text_classifier"
    reads_text = True
    layer_splitter = staticmethod(classifier_splitter)

    def __init__(self, data: TextData | None, model: nn.Module, **kwargs: Any) -> None:
        super().__init__(data, model, **kwargs)
        if self.pipeline.classes is None:
            raise ConfigError("A text classifier needs classes: build it from labelled TextData "
                              "(label_col=...) or a TextPipeline with classes=[...].")

    @property
    def classes(self) -> list[Any]:
        """The classes the model predicts, in the order of its outputs (the pipeline's)."""
        return list(self.pipeline.classes or [])

    def fit_gradual(self, lr: float = 2e-2, epochs: Sequence[int] = (1, 1, 1, 2),
                    moms: Sequence[float] | None = None, factor: float = 2.6,
                    callbacks: Sequence[Callback] = (), resume: str | Path | None = None
                    ) -> None:
        """The lessons' gradual unfreezing: the head, then one more LSTM layer at a time, then
        everything, each stage a one-cycle fit with discriminative rates slice(top/factor**4, top)
        where top is lr, lr/2, lr/4 and lr/20. A stage of 0 epochs, or one that would unfreeze as
        much as the last, is skipped. `moms` defaults to ULMFiT's (0.8, 0.7, 0.8).

        Example:
            >>> learn.fit_gradual(lr=2e-2, epochs=(1, 1, 1, 2))
        """
        if len(epochs) != len(GRADUAL_STAGES):
            raise ConfigError(f"epochs needs one number per stage ({len(GRADUAL_STAGES)}: head, "
                              f"-2, -3, all); got {list(epochs)}.")
        num_groups = len(self.layer_groups)
        with self._fit_call("fit_gradual", resume):   # resume= continues a stopped run exactly
            for (freeze_at, divisor), num_epochs in zip(GRADUAL_STAGES, epochs, strict=True):
                if num_epochs == 0 or -freeze_at >= num_groups:
                    continue
                self.freeze_to(freeze_at)
                top = lr / divisor
                rates: float | slice = top if freeze_at == -1 else slice(top / factor**4, top)
                self.fit_one_cycle(num_epochs, rates, moms=moms, callbacks=callbacks)

    # ----- prediction ---------------------------------------------------------------------------
    def predict(self, item: str | Sequence[str] | pd.Series | pd.DataFrame,
                text_cols: str | Sequence[str] | None = None, bs: int = PREDICT_BS
                ) -> tuple[Any, dict[Any, float]] | pd.DataFrame:
        """Classes and probabilities for one text or many.

        Contract: for one text (`item` a str) the result is (label, {class: probability}); for
        a list or Series of texts, or a DataFrame (its text column(s): `text_cols`, else a column
        named "text", else its only column of strings), a DataFrame in the caller's order and
        index with `prediction` and one `probability_<class>` column per class. Texts are run
        `bs` at a time, longest first internally; words outside the vocabulary read as xxunk.
        Every form reads texts by one rule: a missing text (None, NaN) is an empty text, another
        value its str(), with one BriskWarning that counts them (naming the column).

        Example:
            >>> learn.predict("Loved it!")                    # ('positive', {...})
            >>> learn.predict(df, text_cols="text").head()    # one row per review
        """
        if isinstance(item, str):
            text = clean_texts([item])[0]   # an empty text is said, as in a list
            probabilities = self._run_model(self.pipeline.ids(text).unsqueeze(0))[0]
            best = int(probabilities.argmax())
            return self.classes[best], dict(zip(self.classes, probabilities.tolist(), strict=True))
        if isinstance(item, pd.DataFrame):
            return self.predict_table(item, text_cols=text_cols)
        texts, index = _texts_and_index(item)
        return self._prediction_frame(texts, index, bs)

    def predict_table(self, rows: pd.DataFrame, strict: bool = False,
                      text_cols: Sequence[str] | str | None = None,
                      bs: int = PREDICT_BS) -> pd.DataFrame:
        """`prediction` and `probability_<class>` columns for a DataFrame of texts, indexed like
        `rows` (what `briskml predict` writes). The texts are the `text_cols` columns (several
        are joined with xxfld markers), else the column named "text", else the only column of
        strings. `strict` changes nothing for texts: unknown words always read as xxunk.

        Example:
            >>> learn.predict_table(pd.DataFrame({"text": ["Loved it!", "Dull."]}))
        """
        columns = text_columns(rows, text_cols)
        return self._prediction_frame(join_fields(rows, columns), rows.index, bs)

    def _prediction_frame(self, texts: list[str], index: pd.Index, bs: int) -> pd.DataFrame:
        """Predictions of texts already read by `clean_texts` / `join_fields`."""
        probabilities = self._probabilities(texts, bs)
        frame = pd.DataFrame(index=index)
        frame["prediction"] = list(self.pipeline.decode(probabilities))
        for position, name in enumerate(self.classes):
            frame[f"probability_{name}"] = probabilities[:, position].numpy()
        return frame

    def _probabilities(self, texts: list[str], bs: int) -> Tensor:
        """(len(texts), classes) probabilities in the texts' order, tokenised in parallel and
        run longest first."""
        check_positive_int(bs, "bs")
        ids, offsets = self.pipeline.numericalize(texts, cache=False, checked=True)
        loader = self.pipeline.loader(ids, offsets, len(texts), bs)
        outputs = [self._run_model(tokens) for (tokens,) in loader]
        if not outputs:
            return torch.empty(0, len(self.classes))
        return torch.cat(outputs)[original_order(loader.order, len(texts))]

    def _run_model(self, tokens: Tensor) -> Tensor:
        """Class probabilities of a batch of token ids, in eval mode without gradients."""
        with inference(self.model), self.autocast:
            logits = self.model(tokens.to(self.device))
        return logits.float().softmax(dim=-1).cpu()


def text_columns(rows: pd.DataFrame, text_cols: str | Sequence[str] | None = None) -> list[str]:
    """The columns of texts in `rows`: `text_cols` (checked), else the column named "text", else
    the only column holding strings.

    Example:
        >>> text_columns(pd.DataFrame({"id": [1], "review": ["Fine."]}))   # ['review']
    """
    if text_cols is not None:
        columns = [text_cols] if isinstance(text_cols, str) else list(text_cols)
        check_columns(rows, {"text_cols": columns}, distinct=False)
        return columns
    if "text" in rows.columns:
        return ["text"]
    strings = [name for name in rows.columns if _holds_text(rows[name])]
    if len(strings) == 1:
        return strings
    raise DataError(f"Name the column(s) of texts with text_cols=... (--text-col on the command "
                    f"line): there is no column named 'text' and {len(strings)} columns hold "
                    f"strings; the columns are {[str(name) for name in rows.columns]}.")


def _holds_text(values: pd.Series) -> bool:
    """A column of strings: pandas' str dtype, or objects that are strings (missing ones aside)."""
    if values.dtype == object:
        return pd.api.types.infer_dtype(values, skipna=True) == "string"
    return pd.api.types.is_string_dtype(values.dtype)


def _texts_and_index(texts: Sequence[str] | pd.Series) -> tuple[list[str], pd.Index]:
    """The texts read by the one rule (`clean_texts`) and the index the results take."""
    if isinstance(texts, pd.Series):
        column = None if texts.name is None else str(texts.name)
        return clean_texts(texts.tolist(), column), texts.index
    if isinstance(texts, (list, tuple)):
        return clean_texts(texts), pd.RangeIndex(len(texts))
    raise DataError(f"predict takes a text, a list of texts, a Series or a DataFrame; got "
                    f"{type(texts).__name__}.")


def text_classifier_learner(data_clas: TextData, arch: Any = AWD_LSTM,
                            config: AWDLSTMConfig | Mapping[str, Any] | None = None,
                            drop_mult: float = 0.5, seq_len: int = 72, max_len: int = 72 * 20,
                            lin_ftrs: Sequence[int] | None = (50,),
                            ps: float | Sequence[float] | None = None,
                            metrics: Metric | Sequence[Metric] = accuracy,
                            **learner_kwargs: Any) -> TextClassifierLearner:
    """A TextClassifierLearner: AWD-LSTM encoder (the lessons' classifier dropout x drop_mult),
    read in chunks of `seq_len` (BPT3C, backpropagating through the last `max_len` tokens),
    concat pooling and a head with hidden sizes `lin_ftrs` (dropout `ps`, default 0.1 each).

    Layer groups: embedding, each LSTM layer, head; `freeze()` then `freeze_to(-2)`,
    `freeze_to(-3)` and `unfreeze()` open one LSTM layer at a time from the top. Load a
    fine-tuned encoder with `learn.load_encoder(name)`.

    Example:
        >>> learn = text_classifier_learner(data_clas, AWD_LSTM, drop_mult=0.5)
        >>> learn.load_encoder("ft_enc")
        >>> learn.fit_gradual(lr=2e-2)
    """
    check_arch(arch)
    if not isinstance(data_clas, TextData) or data_clas.for_lm:
        raise DataError("text_classifier_learner needs labelled classifier data: "
                        "TextData.from_df(..., label_col=...).")
    encoder = resolve_config(config, len(data_clas.vocab), CLASSIFIER_DROPOUTS, drop_mult)
    model_config = classifier_config(encoder, len(data_clas.classes), lin_ftrs, ps, seq_len,
                                     max_len)
    if learner_kwargs.get("seed") is not None:
        set_seed(learner_kwargs["seed"])  # so the initial weights repeat too
    return TextClassifierLearner(data_clas, AWDLSTMClassifier(model_config), metrics=metrics,
                                 **learner_kwargs)


def ensemble(learners: Sequence[TextClassifierLearner], ds: Any = "valid"
             ) -> tuple[Tensor, Tensor | None]:
    """Average the class probabilities of several classifiers over the same documents (the
    paper's forward + backward ensemble): (probabilities, targets) in document order.

    `ds` is a dataset name ("valid", "test", "train") or a loader, used by every learner, or a
    list with one per learner (a forward and a backward loader of the same documents).

    Example:
        >>> probabilities, targets = ensemble([learn_fwd, learn_bwd])
        >>> (probabilities.argmax(1) == targets).float().mean()
    """
    if not learners:
        raise ConfigError("ensemble needs at least one learner.")
    datasets = list(ds) if isinstance(ds, (list, tuple)) else [ds] * len(learners)
    if len(datasets) != len(learners):
        raise ConfigError(f"ensemble got {len(learners)} learners but {len(datasets)} datasets "
                          "in `ds`; pass one per learner, or a single name such as 'valid'.")
    classes = learners[0].classes
    results = []
    for learn, dataset in zip(learners, datasets, strict=True):
        if learn.classes != classes:
            raise ConfigError(f"The learners predict different classes: {classes} and "
                              f"{learn.classes}.")
        results.append(learn.get_preds(dataset))
    targets = results[0][1]
    for _, other in results[1:]:
        if (targets is None) != (other is None) or (targets is not None and
                                                    not torch.equal(targets, other)):
            raise DataError("The learners' datasets hold different documents or labels; build "
                            "them from the same rows (e.g. the same valid_col).")
    return torch.stack([preds for preds, _ in results]).mean(dim=0), targets
