"""TabularPipeline: the fitted processors plus the target, turning DataFrames into tensors and back.

Fitted once on the training rows by `TabularData` (processors and the target's classes alike),
then applied unchanged to validation, test and inference rows. It keeps the contract of
`briskml.pipeline.Pipeline`: `inputs` (rows -> tensors), `decode` (outputs -> labels or values),
`describe` (a JSON-able summary) and `to_json` / `from_json`, which carry it inside an exported
learner; `from_json` checks every field, and how the fields relate, before anything is built.

Columns the model reads must be named once in the frame and by strings (they are JSON keys);
every continuous value reaches the model finite (FillMissing treats infinity as missing).
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
from briskml.frames import check_columns, check_unique_columns, numeric_column
from briskml.schema import expect_bool, expect_dict, expect_key, expect_list, expect_str, fail
from briskml.tabular.fields import (
    expect_classes,
    expect_distinct_roles,
    expect_names,
)
from briskml.tabular.procs import (
    FLOAT32_MAX,
    NA_SUFFIX,
    Categorify,
    FillMissing,
    Normalize,
    ProcReport,
    TabularProc,
    proc_from_json,
    proc_to_json,
)
from briskml.tabular.targets import (
    TARGET_KINDS,
    check_targets,
    check_two_classes,
    class_labels,
    float32_targets,
    label_keys,
    log_targets,
    some_labels,
    target_kind,
)

ProcLike = TabularProc | type[TabularProc]
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
        groups = {"y": list(y_names), "cat_names": list(cat_names),
                  "cont_names": list(cont_names)}
        check_columns(df, groups)
        check_unique_columns(df, "df", [*y_names, *cat_names, *cont_names])
        _check_string_names(groups)
        check_targets(df[list(y_names)], np.asarray(train_rows))
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
        self.classes = class_labels(train_labels, name)
        unknown = self._class_codes(all_labels) < 0
        if unknown.any():
            raise DataError(f"Target {name!r} has label(s) {some_labels(all_labels, unknown)} in "
                            "validation rows but never in training rows; every class needs "
                            "training rows. Drop those rows, or choose validation rows that leave "
                            "examples of every class for training (another seed or valid_idx).")
        check_two_classes(self.classes, name)

    def _fit_procs(self, train: pd.DataFrame) -> pd.DataFrame:
        """Fit each processor on the training rows as the earlier ones left them; return the
        transformed training rows."""
        frame = self._select(train)
        cat_names, cont_names = self.cat_names, self.cont_names
        for proc in self.procs:
            cat_names, cont_names = proc.fit(frame, cat_names, cont_names)
            frame = proc.transform(frame)
        self.out_cat_names, self.out_cont_names = cat_names, cont_names
        if self.out_cat_names and self._proc(Categorify) is None:
            raise ConfigError(f"FillMissing adds the categorical column(s) {self.out_cat_names}, "
                              "which need Categorify in procs; add it, or pass "
                              "FillMissing(add_col=False).")
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
        check_unique_columns(df, "df", [*self.cat_names, *self.cont_names])
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
        unusable = ~np.isfinite(conts)
        if unusable.any():
            columns = [name for name, bad in zip(self.out_cont_names, unusable.any(0),
                                                 strict=True) if bad]
            raise DataError(f"Continuous column(s) {columns} have missing or infinite values and "
                            "procs has no FillMissing; add FillMissing to procs or fill them "
                            "first.")
        conts = np.clip(conts, -FLOAT32_MAX, FLOAT32_MAX).astype(np.float32)
        return torch.from_numpy(cats), torch.from_numpy(conts)

    def targets(self, df: pd.DataFrame, rows: str | None = None) -> Tensor:
        """The encoded target: class index (int64), values (float32) or 0/1 labels (float32).
        A missing or infinite target is a DataError; `rows` names the rows in it."""
        absent = [name for name in self.y_names if name not in df.columns]
        if absent:
            raise DataError(f"The rows lack the target column(s) {absent}.")
        check_unique_columns(df, "df", self.y_names)
        values = df[self.y_names]
        check_targets(values, rows=rows)
        if self.y_kind == "category":
            return self._class_indices(values[self.y_names[0]])
        numbers = np.column_stack([numeric_column(values[name], name) for name in self.y_names])
        if self.log_y:
            numbers = log_targets(numbers, self.y_names)
        numbers = float32_targets(numbers, self.y_names)
        return torch.from_numpy(numbers[:, 0] if numbers.shape[1] == 1 else numbers)

    def _class_indices(self, labels: pd.Series) -> Tensor:
        codes = self._class_codes(labels)
        if (codes < 0).any():
            raise DataError(f"Target {self.y_names[0]!r} holds labels the model does not know: "
                            f"{some_labels(labels, codes < 0)}; the classes are {self.classes}.")
        return torch.from_numpy(codes)

    def _class_codes(self, labels: pd.Series) -> np.ndarray:
        """Each label's class index (-1 for a label that is not a class)."""
        return pd.Index(self.classes).get_indexer_for(label_keys(labels)).astype(np.int64)

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
    def from_json(cls, state: Any, field: str = "pipeline") -> TabularPipeline:
        """Rebuild what `to_json` wrote, checking every field first: a SchemaError names the
        field's path in the file (`pipeline.procs[2].state.stds.age`) and the problem."""
        state = expect_dict(state, field)
        names = {key: expect_names(expect_key(state, key, field), f"{field}.{key}")
                 for key in ("cat_names", "cont_names", "y_names", "out_cat_names",
                             "out_cont_names")}
        expect_distinct_roles(names, field)
        specs = expect_list(expect_key(state, "procs", field), f"{field}.procs")
        procs = [proc_from_json(spec, f"{field}.procs[{i}]") for i, spec in enumerate(specs)]
        kinds = [type(proc).__name__ for proc in procs]
        for position, kind in enumerate(kinds):
            if kind in kinds[:position]:
                raise fail(f"{field}.procs[{position}]", f"is a second {kind}; each processor "
                           "is listed once")
        y_kind = expect_str(expect_key(state, "y_kind", field), f"{field}.y_kind", TARGET_KINDS)
        classes = expect_classes(expect_key(state, "classes", field), y_kind, names["y_names"],
                                  field)
        log_y = expect_bool(expect_key(state, "log_y", field), f"{field}.log_y")
        if log_y and y_kind != "regression":
            raise fail(f"{field}.log_y", f"must be false for a {y_kind!r} target")
        pipeline = cls(names["cat_names"], names["cont_names"], procs, names["y_names"], y_kind,
                       classes, log_y)
        pipeline.out_cat_names = names["out_cat_names"]
        pipeline.out_cont_names = names["out_cont_names"]
        pipeline._expect_consistent_procs({kind: i for i, kind in enumerate(kinds)}, field)
        return pipeline

    def _expect_consistent_procs(self, positions: dict[str, int], field: str) -> None:
        """The processors' states cover exactly the columns the names say (read from a file)."""
        fill = self._proc(FillMissing)
        added = [name + NA_SUFFIX for name in fill.na_names] if fill is not None else []
        if self.out_cat_names != [*self.cat_names, *added]:
            raise fail(f"{field}.out_cat_names", f"must be cat_names and then the columns "
                       f"FillMissing adds: {[*self.cat_names, *added]}; got {self.out_cat_names}")
        if self.out_cont_names != self.cont_names:
            raise fail(f"{field}.out_cont_names", f"must equal cont_names {self.cont_names}; "
                       f"got {self.out_cont_names}")
        if self.out_cat_names and self._proc(Categorify) is None:
            raise fail(f"{field}.procs", f"has no Categorify, which the categorical columns "
                       f"{self.out_cat_names} need")
        covered = ((FillMissing, "fill_values", self.cont_names),
                   (Categorify, "categories", self.out_cat_names),
                   (Normalize, "means", self.cont_names))
        for kind, key, expected in covered:
            proc = self._proc(kind)
            columns = None if proc is None else getattr(proc, key)
            if columns is not None and sorted(columns) != sorted(expected):
                where = f"{field}.procs[{positions[kind.__name__]}].state.{key}"
                raise fail(where, f"must have one entry per column of {expected}; got "
                           f"{list(columns)}")

    def __repr__(self) -> str:
        procs = ", ".join(type(proc).__name__ for proc in self.procs)
        return (f"TabularPipeline(cat_names={self.out_cat_names}, "
                f"cont_names={self.out_cont_names}, procs=[{procs}], "
                f"y={self.y_names} ({self.y_kind}))")


# ----- helpers ---------------------------------------------------------------------------------
def _check_string_names(groups: dict[str, list[Any]]) -> None:
    """Column names are JSON keys in the fitted state, so they must be strings."""
    for argument, names in groups.items():
        for name in names:
            if not isinstance(name, str):
                raise ConfigError(f"{argument} names the column {name!r} ({type(name).__name__}); "
                                  "column names must be strings to be saved with the model. "
                                  "Rename them: df.columns = df.columns.astype(str).")


def _drop_float32_noise(values: np.ndarray, std: float) -> np.ndarray:
    """Round de-normalised values to the digits float32 kept (about 1e-6 of a standard
    deviation), so 40 reads 40.0 rather than 39.999998."""
    decimals = int(np.clip(-np.floor(np.log10(std * 1e-5)), 0, 12))
    return np.round(values, decimals)


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
