"""TabularLearner and tabular_learner: train, predict on DataFrames, export, entity embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from briskml.data import set_seed
from briskml.errors import ConfigError, DataError
from briskml.learner import Learner
from briskml.losses import (
    LossFunc,
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
PREDICT_CHUNK_ROWS = 65_536  # rows per forward pass in predict: bounded memory, few calls


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

    def predict(self, rows: pd.DataFrame | pd.Series | Mapping[str, Any], unknown: str = "warn"
                ) -> pd.DataFrame:
        """Predictions for one row (Series or dict) or a DataFrame of any size, in one vectorised
        pass: a DataFrame indexed like the rows, with `prediction` and, for classification, one
        `probability_<class>` column per class.

        Categories unseen in training and missing values become code 0 / the training fill value
        and are counted in one BriskWarning (`unknown="error"` raises, "ignore" is silent).

        Example:
            >>> learn.predict(df.head())                 # DataFrame in, DataFrame out
            >>> learn.predict({"age": 49, "workclass": "Private", ...})
        """
        frame = _as_frame(rows)
        cats, conts = self.pipeline.inputs(frame, unknown=unknown)
        return self.pipeline.decode_predictions(self._predict_tensors(cats, conts), frame.index)

    def _predict_tensors(self, cats: Tensor, conts: Tensor) -> Tensor:
        """Activated model outputs, in chunks of PREDICT_CHUNK_ROWS rows."""
        outputs = []
        for start in range(0, max(len(cats), 1), PREDICT_CHUNK_ROWS):
            chunk = slice(start, start + PREDICT_CHUNK_ROWS)
            outputs.append(Learner.predict(self, cats[chunk], conts[chunk]))
        return torch.cat(outputs)

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

    def _export_extra(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline.to_json()}

    @classmethod
    def _from_export(cls, meta: dict[str, Any], model: nn.Module,
                     device: str | torch.device | None) -> TabularLearner:
        loss = loss_from_name(meta.get("loss"))
        pipeline = TabularPipeline.from_json(meta["extra"]["pipeline"])
        return cls(None, model, pipeline=pipeline, loss_func=loss, device=device, progress=False)


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


def _as_frame(rows: pd.DataFrame | pd.Series | Mapping[str, Any]) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, pd.Series):
        return rows.to_frame(name=rows.name if rows.name is not None else 0).T
    if isinstance(rows, Mapping):
        is_one_row = all(pd.api.types.is_scalar(value) for value in rows.values())
        return pd.DataFrame([dict(rows)]) if is_one_row else pd.DataFrame(dict(rows))
    raise DataError(f"predict takes a DataFrame, a Series (one row) or a dict; got "
                    f"{type(rows).__name__}.")
