"""TabularData: a DataFrame processed once into tensors, served by index-batching loaders."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from briskml.data import TensorLoader
from briskml.errors import ConfigError, DataError
from briskml.tabular.pipeline import ProcLike, TabularPipeline
from briskml.tabular.procs import Categorify, FillMissing, Normalize, cont_cat_split

DEFAULT_PROCS: tuple[ProcLike, ...] = (FillMissing, Categorify, Normalize)


class TabularData:
    """Training, validation and optional test rows as tensors, plus the fitted pipeline.

    `train`, `valid` and `test` are `TensorLoader`s yielding `(cat codes, continuous, target)`
    batches, so a `Learner` trains on them directly.

    Example:
        >>> data = TabularData.from_df(df, y="salary", cat_names=["workclass", "education"],
        ...                            cont_names=["age", "fnlwgt"], valid_pct=0.2, seed=42)
        >>> data.show_batch(5)
    """

    def __init__(self, pipeline: TabularPipeline, train: TensorLoader,
                 valid: TensorLoader | None = None, test: TensorLoader | None = None) -> None:
        self.pipeline, self.train, self.valid, self.test = pipeline, train, valid, test

    @classmethod
    def from_df(cls, df: pd.DataFrame, y: str | Sequence[str],
                cat_names: Sequence[str] | None = None, cont_names: Sequence[str] | None = None,
                procs: Sequence[ProcLike] = DEFAULT_PROCS, valid_idx: Sequence[int] | None = None,
                valid_pct: float = 0.2, seed: int | None = None,
                test_df: pd.DataFrame | None = None, bs: int = 1024,
                val_bs: int | None = None, y_block: str | None = None,
                log_y: bool = False) -> TabularData:
        """Fit `procs` on the training rows of `df` and build the loaders; `df` is not modified.

        Args:
            y: the target column (several 0/1 columns make a multi-label target).
            cat_names, cont_names: the input columns; when both are None, `cont_cat_split`
                guesses them from the other columns.
            valid_idx: positions (0-based, as `df.iloc`) of the validation rows; otherwise a
                random `valid_pct` of the rows (`numpy.random.RandomState(seed)`), 0 for none.
            val_bs: batch size for validation and test (default max(bs, 4096): no gradients).
            y_block: "category", "regression" or "multi_label" to override the guess from y's
                dtype; `log_y=True` trains a regression on log(y) and predicts exp of the output.

        Example:
            >>> data = TabularData.from_df(df, y="salary", cat_names=["workclass"],
            ...                            cont_names=["age"], valid_idx=valid_idx, bs=1024)
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"from_df needs a pandas DataFrame; got {type(df).__name__}.")
        if len(df) == 0:
            raise DataError("The DataFrame is empty; there are no rows to train on.")
        y_names = [y] if isinstance(y, str) else list(y)
        cat_names, cont_names = _input_names(df, y_names, cat_names, cont_names)
        train_rows, valid_rows = split_rows(len(df), valid_idx, valid_pct, seed)
        pipeline = TabularPipeline.fit(df, train_rows, cat_names, cont_names, procs, y_names,
                                       y_block, log_y)
        batch_sizes = _batch_sizes(bs, val_bs)
        train = _train_loader(pipeline, df.iloc[train_rows], batch_sizes[0])
        valid = (pipeline_loader(pipeline, df.iloc[valid_rows], batch_sizes[1])
                 if len(valid_rows) else None)
        test = (pipeline_loader(pipeline, test_df, batch_sizes[1], unknown="warn")
                if test_df is not None else None)
        return cls(pipeline, train, valid, test)

    @classmethod
    def from_csv(cls, path: str | os.PathLike, y: str | Sequence[str],
                 read_csv_kwargs: Mapping[str, Any] | None = None, **kwargs: Any) -> TabularData:
        """Read a CSV with pandas (`read_csv_kwargs`, e.g. skipinitialspace=True), then `from_df`.

        Example:
            >>> data = TabularData.from_csv("adult.csv", y="salary", cat_names=["workclass"],
            ...                             cont_names=["age"], read_csv_kwargs={"sep": ","})
        """
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No CSV file at '{path}'.")
        df = pd.read_csv(path, **dict(read_csv_kwargs or {}))
        return cls.from_df(df, y, **kwargs)

    # ----- what the model and the user need to know ------------------------------------------
    @property
    def cat_names(self) -> list[str]:
        """Categorical inputs after processing (including FillMissing's `_na` columns)."""
        return self.pipeline.out_cat_names

    @property
    def cont_names(self) -> list[str]:
        """Continuous inputs."""
        return self.pipeline.out_cont_names

    @property
    def y_names(self) -> list[str]:
        """The target column(s)."""
        return self.pipeline.y_names

    @property
    def classes(self) -> list[Any] | None:
        """The class labels (classification), in the order of the model's outputs."""
        return self.pipeline.classes

    @property
    def bs(self) -> int:
        """The training batch size."""
        return self.train.bs

    def test_dl(self, df: pd.DataFrame, unknown: str = "warn") -> TensorLoader:
        """A loader over new rows processed like the training rows (targets kept if present).

        Example:
            >>> preds, _ = learn.get_preds(data.test_dl(new_df))
        """
        return pipeline_loader(self.pipeline, df, self.valid.bs if self.valid else self.bs,
                               unknown=unknown)

    def show_batch(self, n: int = 10, ds: str = "train", normalized: bool = False
                   ) -> pd.DataFrame:
        """`n` rows decoded as the lessons' table: category names, continuous values (as given,
        or as the model sees them with `normalized=True`), `_na` columns and the target.

        Example:
            >>> data.show_batch(5)
        """
        loader = self._loader(ds)
        tensors = loader.tensors
        count = min(n, len(tensors[0]))
        rows = torch.randperm(len(tensors[0]))[:count] if ds == "train" else torch.arange(count)
        table = self.pipeline.decode_inputs(tensors[0][rows], tensors[1][rows], normalized)
        if loader.has_target:
            targets = self.pipeline.decode_targets(tensors[2][rows])
            table = pd.concat([table, targets], axis=1)
        return table

    def _loader(self, ds: str) -> TensorLoader:
        if ds not in ("train", "valid", "test"):
            raise ConfigError(f"ds must be 'train', 'valid' or 'test'; got {ds!r}.")
        loader = getattr(self, ds)
        if loader is None:
            raise ConfigError(f"This TabularData has no {ds!r} rows.")
        return loader

    def to(self, device: str | torch.device) -> TabularData:
        """Move every loader's tensors to `device` once (fast when they fit on the GPU)."""
        for loader in (self.train, self.valid, self.test):
            if loader is not None:
                loader.to(device)
        return self

    def __repr__(self) -> str:
        sizes = {name: len(loader.tensors[0]) for name, loader in
                 (("train", self.train), ("valid", self.valid), ("test", self.test)) if loader}
        return f"TabularData(rows={sizes}, bs={self.bs}, {self.pipeline!r})"


def split_rows(num_rows: int, valid_idx: Sequence[int] | None, valid_pct: float,
               seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(training positions, validation positions), from `valid_idx` or a random `valid_pct`."""
    if valid_idx is not None:
        valid = _checked_positions(valid_idx, num_rows)
    else:
        if not 0.0 <= valid_pct < 1.0:
            raise ConfigError(f"valid_pct must be in [0, 1); got {valid_pct!r}.")
        order = np.random.RandomState(seed).permutation(num_rows)
        valid = np.sort(order[:int(valid_pct * num_rows)])
    is_valid = np.zeros(num_rows, dtype=bool)
    is_valid[valid] = True
    train = np.flatnonzero(~is_valid)
    if len(train) < 2:
        raise DataError(f"The validation split leaves {len(train)} training row(s) of {num_rows}; "
                        "training needs at least 2. Use fewer validation rows or more data.")
    return train, np.flatnonzero(is_valid)


def _checked_positions(valid_idx: Sequence[int], num_rows: int) -> np.ndarray:
    positions = np.asarray(valid_idx)
    if positions.size and positions.dtype.kind not in "iu":
        raise ConfigError(f"valid_idx must hold integer row positions; got dtype {positions.dtype}"
                          ". For a boolean mask pass np.flatnonzero(mask).")
    positions = positions.astype(np.int64).reshape(-1)
    out_of_range = positions[(positions < 0) | (positions >= num_rows)]
    if out_of_range.size:
        raise DataError(f"valid_idx holds positions outside 0..{num_rows - 1}, e.g. "
                        f"{out_of_range[:3].tolist()}; they are 0-based positions as for df.iloc.")
    return positions


def _input_names(df: pd.DataFrame, y_names: list[str], cat_names: Sequence[str] | None,
                 cont_names: Sequence[str] | None) -> tuple[list[str], list[str]]:
    if cat_names is None and cont_names is None:
        present = [name for name in y_names if name in df.columns]
        cont_guess, cat_guess = cont_cat_split(df, dep_var=present)
        return cat_guess, cont_guess
    for argument, names in (("cat_names", cat_names), ("cont_names", cont_names)):
        if isinstance(names, str):
            raise ConfigError(f"{argument} must be a list of column names; got the string "
                              f"{names!r} (write [{names!r}]).")
    return list(cat_names or ()), list(cont_names or ())


def _batch_sizes(bs: int, val_bs: int | None) -> tuple[int, int]:
    for name, value in (("bs", bs), ("val_bs", val_bs)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise ConfigError(f"{name} must be a positive integer; got {value!r}.")
    return bs, val_bs if val_bs is not None else max(bs, 4096)


def _train_loader(pipeline: TabularPipeline, rows: pd.DataFrame, bs: int) -> TensorLoader:
    # Drop the last partial batch, as fastai does: a batch of one row would break BatchNorm.
    cats, conts = pipeline.inputs(rows)
    targets = pipeline.targets(rows)
    return TensorLoader(cats, conts, targets, bs=min(bs, len(rows)), shuffle=True,
                        drop_last=len(rows) > bs)


def pipeline_loader(pipeline: TabularPipeline, rows: pd.DataFrame, bs: int,
                    unknown: str = "ignore") -> TensorLoader:
    """An in-order loader over `rows`; with targets when every target column is present."""
    cats, conts = pipeline.inputs(rows, unknown=unknown)
    tensors: list[Tensor] = [cats, conts]
    has_target = all(name in rows.columns for name in pipeline.y_names)
    if has_target:
        tensors.append(pipeline.targets(rows))
    return TensorLoader(*tensors, bs=bs, has_target=has_target)
