"""TabularLearner and tabular_learner: train, predict on DataFrames, export, entity embeddings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
from briskml.schema import (
    SchemaError,
    expect_dict,
    expect_int,
    expect_key,
    expect_list,
    fail,
    in_file,
)
from briskml.tabular.data import TabularData
from briskml.tabular.model import TabularModel, TabularModelConfig, get_emb_szs, tabular_splitter
from briskml.tabular.pipeline import TabularPipeline
from briskml.tabular.procs import MISSING_LABEL, Categorify

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
    def check_export(cls, meta: dict[str, Any], shapes: dict[str, tuple[int, ...]],
                     source: str) -> TabularPipeline:
        """Refuse an export whose pipeline is damaged or does not fit its model, before any
        model is built: every field of meta["pipeline"] is checked, then its columns, categories
        and classes against the TabularModel's config and the tensors' `shapes` (embedding rows
        per column, continuous inputs, outputs). A FileFormatError names `source` and the field.
        """
        with in_file(source, "pipeline"):
            pipeline = TabularPipeline.from_json(expect_key(meta, "pipeline", ""), "pipeline")
            _check_fits_model(pipeline, meta, shapes)
        return pipeline

    @classmethod
    def _from_export(cls, meta: dict[str, Any], model: nn.Module,
                     device: str | torch.device | None,
                     pipeline: TabularPipeline | None = None) -> TabularLearner:
        """A learner for inference from an export's JSON: `pipeline` as `check_export` returned
        it, or, without it, the one under "pipeline" checked against `model` the same way."""
        loss = loss_from_name(meta.get("loss"))
        if pipeline is None:
            shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
            pipeline = _pipeline_from_json(
                meta.get("pipeline"), "The exported file",
                check=lambda built: _check_fits_model(built, meta, shapes))
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
        _pipeline_from_json(state, f"'{source}', exported by briskml 0.1.0,", "extra.pipeline")
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


def _pipeline_from_json(state: Any, where: str, field: str = "pipeline",
                        check: Callable[[TabularPipeline], None] | None = None
                        ) -> TabularPipeline:
    """The pipeline an export holds under `field` (after `check`, when given); a
    FileFormatError naming `where` and the field when its JSON is not a tabular pipeline's."""
    try:
        pipeline = TabularPipeline.from_json(state, field)
        if check is not None:
            check(pipeline)
    except SchemaError as error:
        raise FileFormatError(f"{where} holds no usable tabular pipeline: {error}. The file is "
                              "damaged or was edited: export the learner again with this "
                              "briskml.") from None
    return pipeline


def _check_fits_model(pipeline: TabularPipeline, meta: dict[str, Any],
                      shapes: dict[str, tuple[int, ...]]) -> None:
    """The pipeline's columns, categories and classes are what the TabularModel in `meta` was
    built for; a SchemaError names the pipeline's field and both numbers. Another registered
    model says nothing about its inputs, so only the pipeline's own checks apply to it."""
    spec = meta.get("model")
    if not isinstance(spec, dict) or spec.get("name") != TabularModel.__name__:
        return
    config = expect_dict(expect_key(spec, "config", "model"), "model.config")
    rows = _embedding_rows(config)
    _check_embeddings(pipeline, meta["pipeline"], rows, shapes)
    num_continuous = expect_int(expect_key(config, "num_continuous", "model.config"),
                                "model.config.num_continuous", minimum=0)
    if len(pipeline.out_cont_names) != num_continuous:
        raise fail("pipeline.out_cont_names", f"has {len(pipeline.out_cont_names)} continuous "
                   f"columns but model.config.num_continuous is {num_continuous}")
    field, what = (("pipeline.classes", "classes") if pipeline.y_kind == "category"
                   else ("pipeline.y_names", "targets"))
    out_features = expect_int(expect_key(config, "out_features", "model.config"),
                              "model.config.out_features", minimum=1)
    outputs = {"model.config.out_features": out_features}
    head = shapes.get("head.weight")
    if head:
        outputs["the tensor head.weight's rows"] = head[0]
    for name, count in outputs.items():
        if pipeline.out_features != count:
            raise fail(field, f"has {pipeline.out_features} {what} but {name} is {count}")


def _embedding_rows(config: dict[str, Any]) -> list[int]:
    """The number of embedding rows (codes) of each categorical column in `config`."""
    emb_szs = expect_list(expect_key(config, "emb_szs", "model.config"), "model.config.emb_szs")
    rows = []
    for position, pair in enumerate(emb_szs):
        field = f"model.config.emb_szs[{position}]"
        pair = expect_list(pair, field)
        if len(pair) != 2:
            raise fail(field, f"must be [number of codes, size]; got {pair!r}")
        rows.append(expect_int(pair[0], f"{field}[0]", minimum=1))
    return rows


def _check_embeddings(pipeline: TabularPipeline, state: dict[str, Any], rows: list[int],
                      shapes: dict[str, tuple[int, ...]]) -> None:
    """One embedding per categorical column, with a row per category plus code 0."""
    if len(pipeline.out_cat_names) != len(rows):
        raise fail("pipeline.out_cat_names", f"has {len(pipeline.out_cat_names)} categorical "
                   f"columns but model.config.emb_szs has {len(rows)} embeddings")
    if not rows:
        return
    position = [spec["name"] for spec in state["procs"]].index(Categorify.__name__)
    where = f"pipeline.procs[{position}].state.categories"
    categories = pipeline.categories
    for column, (name, count) in enumerate(zip(pipeline.out_cat_names, rows, strict=True)):
        codes = len(categories[name]) + 1
        if codes != count:
            raise fail(f"{where}.{name}", f"has {codes - 1} categories ({codes} codes with code "
                       f"0 for missing or unseen) but model.config.emb_szs[{column}] has "
                       f"{count} embedding rows")
    table = shapes.get("embeds.weight")
    if table and table[0] != sum(rows):
        raise fail(where, f"need {sum(rows)} embedding rows in all but the tensor embeds.weight "
                   f"has {table[0]}")


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
