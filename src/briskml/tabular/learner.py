"""TabularLearner and tabular_learner: train, predict on DataFrames, export, entity embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from briskml.data import set_seed
from briskml.errors import ConfigError, DataError, FileFormatError
from briskml.inference import predict_in_chunks
from briskml.learner import Learner
from briskml.losses import (
    LossFunc,
    activation_for,
    bce_with_logits_flat,
    cross_entropy_flat,
    loss_from_name,
    mse_flat,
)
from briskml.metrics import Metric
from briskml.tabular.data import TabularData
from briskml.tabular.model import TabularModel, TabularModelConfig, get_emb_szs, tabular_splitter
from briskml.tabular.pipeline import TabularPipeline
from briskml.tabular.procs import MISSING_LABEL

_LOSS_FOR_TARGET: dict[str, LossFunc] = {
    "category": cross_entropy_flat, "regression": mse_flat, "multi_label": bce_with_logits_flat,
}
Rows = pd.DataFrame | pd.Series | Mapping[str, Any]


class TabularLearner(Learner):
    """A Learner that knows its tabular pipeline: it predicts on DataFrames and exports the fitted
    processors with the weights.

    Example:
        >>> learn = tabular_learner(data, layers=[200, 100], metrics=[accuracy])
        >>> learn.fit_one_cycle(5, 1e-2)
        >>> learn.predict(df.head())
    """

    kind = "tabular"

    def __init__(self, data: TabularData | None, model: nn.Module, *,
                 pipeline: TabularPipeline | None = None, **learner_kwargs: Any) -> None:
        if pipeline is None and data is None:
            raise ConfigError("A TabularLearner needs TabularData or a fitted pipeline.")
        self.pipeline = pipeline if pipeline is not None else data.pipeline
        super().__init__(data, model, **learner_kwargs)

    def predict(self, item: Rows, unknown: str = "warn") -> pd.DataFrame:
        """Predictions for rows of a table: one row (a Series or a dict) or a DataFrame of any
        size in, a DataFrame indexed like the rows out. It holds `prediction` (the class label,
        or the value on the target's scale) and, for classification, one `probability_<class>`
        column per class; several targets give `prediction_<target>` columns (and, multi-label,
        `probability_<target>`).

        Rows are processed in one vectorised pass and predicted in chunks of 65,536; the
        caller's rows are never modified. Categories unseen in training and missing values
        become code 0 / the training fill value and are counted in one BriskWarning
        (`unknown="error"` raises, "ignore" is silent).

        Example:
            >>> learn.predict(df.head())                 # DataFrame in, DataFrame out
            >>> learn.predict({"age": 49, "workclass": "Private", ...})
        """
        frame = _as_frame(item)
        inputs = self.pipeline.inputs(frame, unknown=unknown)
        outputs = predict_in_chunks(self.model, inputs, self.device)
        activation = activation_for(self.loss_func)
        preds = activation(outputs) if activation is not None else outputs
        return self.pipeline.decode_predictions(preds, frame.index)

    def predict_table(self, rows: pd.DataFrame, strict: bool = False,
                      text_cols: Sequence[str] | None = None) -> pd.DataFrame:
        """`predict` for `briskml predict`: `strict` refuses categories never seen in training
        (and missing values) instead of warning about them."""
        if text_cols is not None:
            columns = [*self.pipeline.cat_names, *self.pipeline.cont_names]
            raise ConfigError("text_cols is for text classifiers; a tabular learner reads the "
                              f"columns it was trained on: {columns}.")
        return self.predict(rows, unknown="error" if strict else "warn")

    def embeddings(self) -> dict[str, pd.DataFrame]:
        """Each categorical column's learned embedding as a DataFrame indexed by category (the
        first row, "#na#", is code 0: missing or unseen), ready to feed another model.

        Example:
            >>> learn.embeddings()["workclass"].loc["Private"]
        """
        if not isinstance(self.model, TabularModel):
            raise ConfigError(f"embeddings() needs a TabularModel; this learner trains a "
                              f"{type(self.model).__name__}.")
        categories = self.pipeline.categories
        tables = {}
        for column, name in enumerate(self.pipeline.out_cat_names):
            weights = self.model.embedding_table(column).detach().float().cpu().numpy()
            index = pd.Index([MISSING_LABEL, *categories[name]], dtype=object, name=name)
            tables[name] = pd.DataFrame(weights, index=index)
        return tables

    @classmethod
    def _from_export(cls, meta: dict[str, Any], model: nn.Module,
                     device: str | torch.device | None) -> TabularLearner:
        """A learner for inference from an export's JSON: the pipeline under "pipeline"."""
        loss = loss_from_name(meta.get("loss"))
        pipeline = _pipeline_from_json(meta.get("pipeline"), "The exported file")
        # The same two layer groups as tabular_learner's, so fine-tuning a loaded model works alike.
        splitter = tabular_splitter if isinstance(model, TabularModel) else None
        return cls(None, model, pipeline=pipeline, loss_func=loss, splitter=splitter,
                   device=device, progress=False)

    @classmethod
    def upgrade_v1(cls, meta: dict[str, Any], source: str) -> dict[str, Any]:
        """The JSON of a briskml 0.1.0 export in today's shape: its pipeline, which 0.1.0 kept
        under "extra", moves to "pipeline" (the pipeline's own JSON is unchanged)."""
        extra = meta.get("extra")
        state = extra.get("pipeline") if isinstance(extra, dict) else None
        _pipeline_from_json(state, f"'{source}', exported by briskml 0.1.0,")
        return {**meta, "pipeline": state}


def tabular_learner(data: TabularData, layers: Sequence[int] = (200, 100),
                    metrics: Metric | Sequence[Metric] | None = None,
                    ps: float | Sequence[float] | None = None, emb_drop: float = 0.0,
                    y_range: tuple[float, float] | None = None,
                    emb_szs: Mapping[str, int] | None = None, use_bn: bool = True,
                    bn_cont: bool = True, **learner_kwargs: Any) -> TabularLearner:
    """Build a TabularLearner with a TabularModel sized for `data`.

    Cross-entropy for a class target, MSE for regression, BCE for multi-label; two layer groups
    (embeddings, then the rest) for discriminative learning rates. `emb_szs` maps a
    column to its embedding size where the lessons' rule should not decide; `learner_kwargs`
    go to `Learner` (wd, seed, callbacks, path, ...).

    Example:
        >>> learn = tabular_learner(data, layers=[200, 100], metrics=[accuracy])
        >>> learn.lr_find()
        >>> learn.fit_one_cycle(5, 1e-2)
    """
    if not isinstance(data, TabularData):
        raise ConfigError(f"tabular_learner needs TabularData (TabularData.from_df(...)); got "
                          f"{type(data).__name__}.")
    pipeline = data.pipeline
    if y_range is not None and pipeline.y_kind != "regression":
        raise ConfigError(f"y_range applies to regression; this target is {pipeline.y_kind!r}.")
    config = TabularModelConfig(
        emb_szs=get_emb_szs(pipeline.categories, pipeline.out_cat_names, emb_szs),
        num_continuous=len(pipeline.out_cont_names), out_features=pipeline.out_features,
        layers=tuple(layers), ps=0.0 if ps is None else ps, emb_drop=emb_drop, y_range=y_range,
        use_bn=use_bn, bn_cont=bn_cont)
    if learner_kwargs.get("seed") is not None:
        set_seed(learner_kwargs["seed"])  # so the model's initial weights repeat too
    learner_kwargs.setdefault("loss_func", _LOSS_FOR_TARGET[pipeline.y_kind])
    learner_kwargs.setdefault("splitter", tabular_splitter)
    return TabularLearner(data, TabularModel(config), metrics=metrics or (), **learner_kwargs)


def _pipeline_from_json(state: Any, where: str) -> TabularPipeline:
    """The pipeline an export holds; a FileFormatError naming `where` when its JSON is not a
    tabular pipeline's."""
    fix = ("the file is damaged or not a tabular learner's; export the learner again with this "
           "briskml.")
    if not isinstance(state, dict):
        raise FileFormatError(f"{where} holds no tabular pipeline (the fitted processors): {fix}")
    try:
        return TabularPipeline.from_json(state)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise FileFormatError(f"{where} holds an incomplete tabular pipeline ({error!r}): "
                              f"{fix}") from error


def _as_frame(rows: Rows) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, pd.Series):
        return rows.to_frame(name=rows.name if rows.name is not None else 0).T
    if isinstance(rows, Mapping):
        is_one_row = all(pd.api.types.is_scalar(value) for value in rows.values())
        return pd.DataFrame([dict(rows)]) if is_one_row else pd.DataFrame(dict(rows))
    raise DataError(f"predict takes a DataFrame, a Series (one row) or a dict; got "
                    f"{type(rows).__name__}.")
