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
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from briskml.data import set_seed
from briskml.errors import ConfigError, DataError
from briskml.losses import cross_entropy_flat
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
from briskml.text.loaders import ClassificationLoader
from briskml.text.text_learner import TextLearner
from briskml.text.tokenizer import join_fields

PREDICT_BS = 64
# fit_gradual's stages: (freeze_to argument, divisor of lr for the top group).
GRADUAL_STAGES = ((-1, 1.0), (-2, 2.0), (-3, 4.0), (0, 20.0))


class TextClassifierLearner(TextLearner):
    """A TextLearner for a classifier: gradual unfreezing, prediction on raw text, `classes`.

    Build it with `text_classifier_learner`.
    """

    kind = "text_classifier"

    def __init__(self, data: TextData | None, model: nn.Module, *,
                 classes: Sequence[Any] | None = None, **kwargs: Any) -> None:
        self.classes = list(classes) if classes is not None else list(data.classes)
        super().__init__(data, model, **kwargs)

    def fit_gradual(self, lr: float = 2e-2, epochs: Sequence[int] = (1, 1, 1, 2),
                    moms: Sequence[float] = (0.8, 0.7), factor: float = 2.6) -> None:
        """The lessons' gradual unfreezing: the head, then one more LSTM layer at a time, then
        everything, each stage a one-cycle fit with discriminative rates slice(top/factor**4, top)
        where top is lr, lr/2, lr/4 and lr/20. A stage of 0 epochs, or one that would unfreeze as
        much as the last, is skipped.

        Example:
            >>> learn.fit_gradual(lr=2e-2, epochs=(1, 1, 1, 2))
        """
        if len(epochs) != len(GRADUAL_STAGES):
            raise ConfigError(f"epochs needs one number per stage ({len(GRADUAL_STAGES)}: head, "
                              f"-2, -3, all); got {list(epochs)}.")
        num_groups = len(self.layer_groups)
        for (freeze_at, divisor), num_epochs in zip(GRADUAL_STAGES, epochs, strict=True):
            if num_epochs == 0 or -freeze_at >= num_groups:
                continue
            self.freeze_to(freeze_at)
            top = lr / divisor
            rates: float | slice = top if freeze_at == -1 else slice(top / factor**4, top)
            self.fit_one_cycle(num_epochs, rates, moms=moms)

    # ----- prediction ---------------------------------------------------------------------------
    def predict(self, text: str | Sequence[str] | pd.Series | pd.DataFrame,  # type: ignore[override]
                text_cols: str | Sequence[str] | None = None, bs: int = PREDICT_BS
                ) -> tuple[Any, dict[Any, float]] | pd.DataFrame:
        """For one text: (label, {class: probability}). For a list, Series or DataFrame: a
        DataFrame in the caller's order (and index) with `prediction` and one `probability_<class>`
        column per class; texts are batched longest first internally.

        Example:
            >>> learn.predict("Loved it!")                    # ('positive', {...})
            >>> learn.predict(df, text_cols="text").head()    # one row per review
        """
        if isinstance(text, str):
            probabilities = self._probabilities_of_one(text)
            best = int(probabilities.argmax())
            return self.classes[best], dict(zip(self.classes, probabilities.tolist(), strict=True))
        texts, index = _texts_and_index(text, text_cols)
        probabilities = self._probabilities(texts, bs)
        frame = pd.DataFrame(index=index)
        frame["prediction"] = [self.classes[i] for i in probabilities.argmax(dim=1).tolist()]
        for position, name in enumerate(self.classes):
            frame[f"probability_{name}"] = probabilities[:, position].numpy()
        return frame

    def _probabilities_of_one(self, text: str) -> Tensor:
        ids = self._ids_of(text).unsqueeze(0)
        return self._run_model(ids)[0]

    def _probabilities(self, texts: list[str], bs: int) -> Tensor:
        """(len(texts), classes) probabilities, tokenised in parallel, run longest first."""
        corpus = self.tokenizer.tokenize(texts, cache=False)
        ids = torch.from_numpy(self.vocab.numericalize_corpus(corpus).astype(np.int32))
        loader = ClassificationLoader(ids, corpus.offsets, np.arange(len(corpus)), None, bs,
                                      shuffle=False, pad_id=self.vocab.pad_id,
                                      backwards=self.backwards)
        outputs = [self._run_model(batch[0]) for batch in loader]
        return unsort(torch.cat(outputs) if outputs else torch.empty(0, len(self.classes)),
                      loader.order)

    def _run_model(self, tokens: Tensor) -> Tensor:
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad(), self.autocast:
                logits = self.model(tokens.to(self.device))
        finally:
            self.model.train(was_training)
        return logits.float().softmax(dim=-1).cpu()

    def get_preds(self, ds: str | Any = "valid", activation: bool = True
                  ) -> tuple[Tensor, Tensor | None]:
        """(probabilities, targets) over a dataset, in the data's document order (the loader
        serves documents longest first; this undoes that).

        Example:
            >>> probabilities, targets = learn.get_preds()   # rows follow data.valid_docs
        """
        loader = self._resolve_loader(ds)
        preds, targets = super().get_preds(loader, activation)
        if isinstance(loader, ClassificationLoader) and not loader.shuffle:
            preds = unsort(preds, loader.order)
            targets = None if targets is None else unsort(targets, loader.order)
        return preds, targets

    # ----- export ------------------------------------------------------------------------------
    def _export_extra(self) -> dict[str, Any]:
        return {**super()._export_extra(), "classes": self.classes}

    @classmethod
    def _from_export(cls, meta: dict[str, Any], model: nn.Module,
                     device: str | torch.device | None) -> TextClassifierLearner:
        return cls(None, model, classes=meta["extra"]["classes"], loss_func=cross_entropy_flat,
                   splitter=classifier_splitter, device=device, progress=False,
                   **cls._extra_from_export(meta))


def unsort(values: Tensor, order: Tensor) -> Tensor:
    """Rows served in `order` put back in the original order."""
    result = torch.empty_like(values)
    result[order] = values
    return result


def _texts_and_index(text: Sequence[str] | pd.Series | pd.DataFrame,
                     text_cols: str | Sequence[str] | None) -> tuple[list[str], pd.Index]:
    if isinstance(text, pd.DataFrame):
        if text_cols is None:
            if "text" not in text.columns and len(text.columns) != 1:
                raise DataError(f"Name the text column(s) with text_cols=...; the DataFrame has "
                                f"columns {list(text.columns)}.")
            text_cols = "text" if "text" in text.columns else text.columns[0]
        return join_fields(text, text_cols), text.index
    if isinstance(text, pd.Series):
        return [str(value) for value in text.tolist()], text.index
    if isinstance(text, (list, tuple)):
        return [str(value) for value in text], pd.RangeIndex(len(text))
    raise DataError(f"predict takes a text, a list of texts, a Series or a DataFrame; got "
                    f"{type(text).__name__}.")


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
        >>> learn.fit_one_cycle(1, 2e-2, moms=(0.8, 0.7))
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
    learner_kwargs.setdefault("loss_func", cross_entropy_flat)
    learner_kwargs.setdefault("splitter", classifier_splitter)
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
