"""TabularPipeline: the fitted processors plus the target, turning DataFrames into tensors and back.

Fitted once on the training rows by `TabularData` (processors and the target's classes alike),
then applied unchanged to validation, test and inference rows. It keeps the contract of
`briskml.pipeline.Pipeline`: `inputs` (rows -> tensors), `decode` (outputs -> labels or values),
`describe` (a JSON-able summary) and `to_json` / `from_json`, which carry it inside an exported
learner.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from briskml.checks import check_one_of
from briskml.errors import ConfigError, DataError, warn
from briskml.frames import check_columns, numeric_column, plain_value
from briskml.tabular.procs import (
    FLOAT32_MAX,
    Categorify,
    Normalize,
    ProcReport,
    TabularProc,
    proc_from_json,
    proc_to_json,
)

ProcLike = TabularProc | type[TabularProc]
TARGET_KINDS = ("category", "regression", "multi_label")
UNKNOWN_CHOICES = ("warn", "error", "ignore")


class TabularPipeline:
    """Fitted processors and target encoding: DataFrame -> (cat codes, continuous) tensors.

    Example:
        >>> pipeline = TabularPipeline.fit(df, train_rows, ["city"], ["age"], [Categorify],
        ...                                y_names=["price"])
        >>> cats, conts = pipeline.inputs(new_df)
    """

    def __init__(self, cat_names: list[str], cont_names: list[str], procs: list[TabularProc],
                 y_names: list[str], y_kind: str | None, classes: list[Any] | None = None,
                 log_y: bool = False) -> None:
        self.cat_names, self.cont_names = list(cat_names), list(cont_names)
        self.procs = sorted(procs, key=lambda proc: proc.order)
        self.y_names, self.y_kind, self.classes, self.log_y = list(y_names), y_kind, classes, log_y
        self.out_cat_names, self.out_cont_names = list(cat_names), list(cont_names)

    # ----- fitting ------------------------------------------------------------------------------
    @classmethod
    def fit(cls, df: pd.DataFrame, train_rows: np.ndarray, cat_names: Sequence[str],
            cont_names: Sequence[str], procs: Sequence[ProcLike], y_names: Sequence[str],
            y_block: str | None = None, log_y: bool = False) -> TabularPipeline:
        """Fit the processors and the target's classes on `df.iloc[train_rows]` only."""
        return cls.fit_transform(df, train_rows, cat_names, cont_names, procs, y_names, y_block,
                                 log_y)[0]

    @classmethod
    def fit_transform(cls, df: pd.DataFrame, train_rows: np.ndarray, cat_names: Sequence[str],
                      cont_names: Sequence[str], procs: Sequence[ProcLike],
                      y_names: Sequence[str], y_block: str | None = None, log_y: bool = False
                      ) -> tuple[TabularPipeline, tuple[Tensor, Tensor]]:
        """`fit`, plus the training rows' (cat codes, continuous) tensors: each processor
        transforms the training rows once, while it is fitted.

        Example:
            >>> pipeline, (cats, conts) = TabularPipeline.fit_transform(
            ...     df, train_rows, ["city"], ["age"], [FillMissing, Categorify, Normalize],
            ...     y_names=["price"])
        """
        check_columns(df, {"y": y_names, "cat_names": cat_names, "cont_names": cont_names})
        _check_no_missing_targets(df[list(y_names)])
        y_kind = target_kind(df, list(y_names), y_block)
        if log_y and y_kind != "regression":
            raise ConfigError(f"log_y=True needs a regression target; {list(y_names)} is treated "
                              f"as {y_kind!r} (pass y_block='regression' if it is numeric).")
        pipeline = cls(list(cat_names), list(cont_names), _instantiate(procs), list(y_names),
                       y_kind, log_y=log_y)
        pipeline._check_procs()
        train = df.iloc[train_rows]
        if y_kind == "category":
            pipeline._fit_classes(train[y_names[0]], df[y_names[0]])
        frame = pipeline._fit_procs(train)
        return pipeline, pipeline._tensors(frame)

    def _check_procs(self) -> None:
        if self.cat_names and not any(isinstance(proc, Categorify) for proc in self.procs):
            raise ConfigError(f"cat_names {self.cat_names} need Categorify in procs (it turns "
                              "categories into the codes the embeddings look up).")

    def _fit_classes(self, train_labels: pd.Series, all_labels: pd.Series) -> None:
        """The classes of the training rows; a label found only in the other rows has no
        training example, so the model could never predict it: an error, not a silent class."""
        name = self.y_names[0]
        self.classes = sorted_labels(train_labels, name)
        unknown = self._class_codes(all_labels) < 0
        if unknown.any():
            raise DataError(f"Target {name!r} has label(s) {_some_labels(all_labels, unknown)} in "
                            "validation rows but never in training rows; every class needs "
                            "training rows. Drop those rows, or choose validation rows that leave "
                            "examples of every class for training (another seed or valid_idx).")

    def _fit_procs(self, train: pd.DataFrame) -> pd.DataFrame:
        """Fit each processor on the training rows as the earlier ones left them; return the
        transformed training rows."""
        frame = self._select(train)
        cat_names, cont_names = self.cat_names, self.cont_names
        for proc in self.procs:
            cat_names, cont_names = proc.fit(frame, cat_names, cont_names)
            frame = proc.transform(frame)
        self.out_cat_names, self.out_cont_names = cat_names, cont_names
        return frame

    # ----- applying -----------------------------------------------------------------------------
    def inputs(self, df: pd.DataFrame, unknown: str = "warn", rows: str | None = None
               ) -> tuple[Tensor, Tensor]:
        """(cat codes int64 (rows, n_cat), continuous float32 (rows, n_cont)) for `df`'s rows.

        `unknown` says what to do with categories unseen in training and missing values: "warn"
        (code 0 / the fill value, plus one BriskWarning counting them per column), "error"
        (raise) or "ignore" (the same mapping, silently). `rows` names the rows in that message
        ("validation rows").
        """
        check_one_of(unknown, UNKNOWN_CHOICES, "unknown")
        missing = [name for name in [*self.cat_names, *self.cont_names] if name not in df.columns]
        if missing:
            raise DataError(f"The rows lack the column(s) {missing} the model was trained with; "
                            "add them (missing values are fine).")
        frame = self._select(df)
        report = ProcReport() if unknown != "ignore" else None
        for proc in self.procs:
            frame = proc.transform(frame, report)
        if report:
            _handle_report(report, unknown, rows)
        return self._tensors(frame)

    def _select(self, df: pd.DataFrame) -> pd.DataFrame:
        """The input columns only, continuous ones as float64 (a new frame: `df` is untouched)."""
        frame = df[[*self.cat_names, *self.cont_names]].copy(deep=False)
        for name in self.cont_names:
            frame[name] = numeric_column(df[name], name)
        return frame

    def _tensors(self, frame: pd.DataFrame) -> tuple[Tensor, Tensor]:
        num_rows = len(frame)
        cats = frame[self.out_cat_names].to_numpy(dtype=np.int64)
        # A frame read from Parquet may hand back a read-only view; torch needs a writable array.
        cats = np.require(cats.reshape(num_rows, len(self.out_cat_names)), requirements="W")
        conts = frame[self.out_cont_names].to_numpy(dtype=np.float64, na_value=np.nan)
        conts = conts.reshape(num_rows, len(self.out_cont_names))
        if np.isnan(conts).any():
            columns = [name for name, bad in zip(self.out_cont_names, np.isnan(conts).any(0),
                                                 strict=True) if bad]
            raise DataError(f"Continuous column(s) {columns} have missing values and procs has no "
                            "FillMissing; add FillMissing to procs or fill them first.")
        conts = np.clip(conts, -FLOAT32_MAX, FLOAT32_MAX).astype(np.float32)
        return torch.from_numpy(cats), torch.from_numpy(conts)

    def targets(self, df: pd.DataFrame) -> Tensor:
        """The encoded target: class index (int64), values (float32) or 0/1 labels (float32)."""
        absent = [name for name in self.y_names if name not in df.columns]
        if absent:
            raise DataError(f"The rows lack the target column(s) {absent}.")
        values = df[self.y_names]
        _check_no_missing_targets(values)
        if self.y_kind == "category":
            return self._class_indices(values[self.y_names[0]])
        numbers = np.column_stack([numeric_column(values[name], name) for name in self.y_names])
        if self.log_y:
            numbers = _log(numbers, self.y_names)
        numbers = numbers.astype(np.float32)
        return torch.from_numpy(numbers[:, 0] if numbers.shape[1] == 1 else numbers)

    def _class_indices(self, labels: pd.Series) -> Tensor:
        codes = self._class_codes(labels)
        if (codes < 0).any():
            raise DataError(f"Target {self.y_names[0]!r} holds labels the model does not know: "
                            f"{_some_labels(labels, codes < 0)}; the classes are {self.classes}.")
        return torch.from_numpy(codes)

    def _class_codes(self, labels: pd.Series) -> np.ndarray:
        """Each label's class index (-1 for a label that is not a class)."""
        if not _plain_labels(labels):
            labels = labels.astype(str)
        return pd.Index(self.classes).get_indexer_for(labels).astype(np.int64)

    # ----- decoding -----------------------------------------------------------------------------
    @property
    def out_features(self) -> int:
        """How many outputs the model needs for this target."""
        return len(self.classes) if self.y_kind == "category" else len(self.y_names)

    def decode(self, outputs: Tensor) -> np.ndarray:
        """Activated model outputs as the user reads them, one item per row: class labels
        (classification), values on the target's own scale (regression; (rows, targets) for
        several targets) or (rows, labels) bool flags (multi-label)."""
        values = torch.as_tensor(outputs).detach().float().cpu().numpy()
        if self.y_kind == "category":
            return np.asarray(self.classes, dtype=object)[values.argmax(1)]
        values = values.reshape(len(values), -1)
        if self.y_kind == "multi_label":
            return values > 0.5
        values = values.astype(np.float64)
        values = np.exp(values) if self.log_y else values
        return values[:, 0] if values.shape[1] == 1 else values

    def decode_predictions(self, preds: Tensor, index: pd.Index) -> pd.DataFrame:
        """Predictions (after the loss's activation) as a DataFrame indexed like the input rows:
        `decode`'s labels or values, plus each class's or label's probability."""
        values = torch.as_tensor(preds).detach().float().cpu().numpy()
        decoded = self.decode(preds)
        columns: dict[str, Any]
        if self.y_kind == "category":
            columns = {"prediction": decoded}
            columns.update({f"probability_{label}": values[:, i]
                            for i, label in enumerate(self.classes)})
        elif self.y_kind == "multi_label":
            values = values.reshape(len(values), -1)
            columns = {f"prediction_{name}": decoded[:, i] for i, name in enumerate(self.y_names)}
            columns.update({f"probability_{name}": values[:, i]
                            for i, name in enumerate(self.y_names)})
        else:
            decoded = decoded.reshape(len(decoded), -1)
            names = ["prediction"] if len(self.y_names) == 1 else [
                f"prediction_{name}" for name in self.y_names]
            columns = {name: decoded[:, i] for i, name in enumerate(names)}
        return pd.DataFrame(columns, index=index)

    def decode_inputs(self, cats: Tensor, conts: Tensor, normalized: bool = False) -> pd.DataFrame:
        """Rows as the user reads them: category labels, continuous values (de-normalised unless
        `normalized`), and the `_na` columns."""
        categorify = self._proc(Categorify)
        normalize = None if normalized else self._proc(Normalize)
        columns: dict[str, Any] = {}
        cat_codes, cont_values = cats.cpu().numpy(), conts.cpu().numpy()
        for i, name in enumerate(self.out_cat_names):
            columns[name] = categorify.decode(name, cat_codes[:, i])
        for i, name in enumerate(self.out_cont_names):
            values = cont_values[:, i]
            if normalize is not None:
                values = _drop_float32_noise(normalize.decode(name, values), normalize.stds[name])
            columns[name] = values
        return pd.DataFrame(columns)

    def decode_targets(self, targets: Tensor) -> pd.DataFrame:
        """Targets as the user gave them (class labels, values)."""
        values = targets.cpu().numpy()
        if self.y_kind == "category":
            return pd.DataFrame({self.y_names[0]: np.asarray(self.classes, dtype=object)[values]})
        values = values.reshape(len(values), -1).astype(np.float64)
        if self.y_kind == "multi_label":
            values = values > 0.5
        elif self.log_y:
            values = np.exp(values)
        return pd.DataFrame(values, columns=self.y_names)

    def _proc(self, kind: type[TabularProc]) -> Any:
        return next((proc for proc in self.procs if isinstance(proc, kind)), None)

    @property
    def categories(self) -> dict[str, list[Any]]:
        """Each categorical column's categories (code i + 1 is categories[i]; code 0 is missing)."""
        categorify = self._proc(Categorify)
        return dict(categorify.categories) if categorify is not None else {}

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: input columns (and the ones FillMissing adds), processors, the
        number of categories per column, the target and its classes."""
        categories = self.categories
        return {
            "cat_names": list(self.cat_names), "cont_names": list(self.cont_names),
            "added_cat_names": [name for name in self.out_cat_names
                                if name not in self.cat_names],
            "procs": [type(proc).__name__ for proc in self.procs],
            "num_categories": {name: len(values) for name, values in categories.items()},
            "y_names": list(self.y_names), "y_kind": self.y_kind,
            "classes": None if self.classes is None else list(self.classes),
            "log_y": self.log_y,
        }

    # ----- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Everything needed to process new rows and decode predictions, as JSON-able values."""
        return {
            "cat_names": self.cat_names, "cont_names": self.cont_names,
            "procs": [proc_to_json(proc) for proc in self.procs],
            "out_cat_names": self.out_cat_names, "out_cont_names": self.out_cont_names,
            "y_names": self.y_names, "y_kind": self.y_kind, "classes": self.classes,
            "log_y": self.log_y,
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> TabularPipeline:
        """Rebuild what `to_json` wrote."""
        procs = [proc_from_json(spec) for spec in state["procs"]]
        pipeline = cls(state["cat_names"], state["cont_names"], procs, state["y_names"],
                       state["y_kind"], state["classes"], state["log_y"])
        pipeline.out_cat_names = list(state["out_cat_names"])
        pipeline.out_cont_names = list(state["out_cont_names"])
        return pipeline

    def __repr__(self) -> str:
        procs = ", ".join(type(proc).__name__ for proc in self.procs)
        return (f"TabularPipeline(cat_names={self.out_cat_names}, "
                f"cont_names={self.out_cont_names}, procs=[{procs}], "
                f"y={self.y_names} ({self.y_kind}))")


# ----- checks and conversions ------------------------------------------------------------------
def target_kind(df: pd.DataFrame, y_names: list[str], y_block: str | None) -> str:
    """"category" (one text/categorical/bool column), "regression" (numbers) or "multi_label"."""
    if not y_names:
        raise ConfigError("y must name at least one target column.")
    if y_block is not None:
        check_one_of(y_block, TARGET_KINDS, "y_block")
        if y_block == "category" and len(y_names) != 1:
            raise ConfigError(f"y_block='category' takes one target column; got {y_names}. Use "
                              "y_block='multi_label' for several 0/1 columns.")
        return y_block
    dtypes = [df[name].dtype for name in y_names]
    if len(y_names) > 1:
        flags = all(pd.api.types.is_bool_dtype(dtype) or _is_zero_one(df[name])
                    for name, dtype in zip(y_names, dtypes, strict=True))
        return "multi_label" if flags else "regression"
    dtype = dtypes[0]
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "category"
    return "regression"


def _is_zero_one(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values.dtype) and values.dropna().isin([0, 1]).all()


def sorted_labels(values: pd.Series, name: str) -> list[Any]:
    """The sorted distinct labels of a class target, as plain Python values."""
    unique = pd.Index(values.dropna().unique())
    if not _plain_labels(values):
        unique = pd.Index(unique.astype(str).unique())
    try:
        unique = unique.sort_values()
    except TypeError as error:
        raise DataError(f"Target {name!r} mixes label types that cannot be sorted "
                        f"({error}); convert it with df[{name!r}].astype(str).") from error
    return [plain_value(value) for value in unique.tolist()]


def _some_labels(labels: pd.Series, where: np.ndarray) -> list[Any]:
    """Up to five distinct labels of the rows `where` marks, as plain values (for messages)."""
    return [plain_value(label) for label in pd.unique(labels[where].to_numpy())[:5]]


def _plain_labels(values: pd.Series) -> bool:
    """True when the labels are JSON-able scalars; other labels are compared as text."""
    if values.dtype.kind in "biuf":
        return True
    unique = pd.Index(values.dropna().unique()).tolist()
    return all(isinstance(value, (str, bool, int, float, np.generic)) for value in unique)


def _check_no_missing_targets(values: pd.DataFrame) -> None:
    missing = values.isna().any(axis=1)
    if missing.any():
        rows = values.index[missing.to_numpy()][:5].tolist()
        raise DataError(f"Target {list(values.columns)} has missing values in "
                        f"{int(missing.sum())} row(s), e.g. rows {rows}; drop those rows "
                        "(df.dropna(subset=...)) or fill them.")


def _drop_float32_noise(values: np.ndarray, std: float) -> np.ndarray:
    """Round de-normalised values to the digits float32 kept (about 1e-6 of a standard
    deviation), so 40 reads 40.0 rather than 39.999998."""
    decimals = int(np.clip(-np.floor(np.log10(std * 1e-5)), 0, 12))
    return np.round(values, decimals)


def _log(values: np.ndarray, y_names: list[str]) -> np.ndarray:
    if (values <= 0).any():
        raise DataError(f"log_y=True needs positive targets, but {y_names} has "
                        f"{int((values <= 0).sum())} value(s) <= 0; shift them or drop log_y.")
    return np.log(values)


def _instantiate(procs: Sequence[ProcLike]) -> list[TabularProc]:
    """Fresh processors: classes are instantiated, instances copied (the caller's stay unfitted)."""
    result: list[TabularProc] = []
    for proc in procs:
        if isinstance(proc, type) and issubclass(proc, TabularProc):
            result.append(proc())
        elif isinstance(proc, TabularProc):
            result.append(copy.deepcopy(proc))
        else:
            raise ConfigError(f"procs must hold FillMissing, Categorify, Normalize (classes or "
                              f"instances); got {proc!r}.")
    kinds = [type(proc).__name__ for proc in result]
    duplicates = sorted({kind for kind in kinds if kinds.count(kind) > 1})
    if duplicates:
        raise ConfigError(f"procs lists {duplicates} more than once; give each processor once.")
    return result


def _handle_report(report: ProcReport, unknown: str, rows: str | None) -> None:
    details = report.describe()
    where = f" in the {rows}" if rows else ""
    if unknown == "error":
        subject = f"The {rows}" if rows else "Rows"
        raise DataError(f"{subject} hold missing values or categories not seen in training: "
                        f"{details}. Pass unknown='warn' to map them to code 0 / the training "
                        "fill value.")
    warn(f"Missing values and categories not seen in training were mapped to code 0 "
         f"(categorical) or the training fill value (continuous){where}: {details}. "
         "Pass unknown='error' to raise instead, or unknown='ignore' to silence this.")
