"""TabularData: a DataFrame processed once into tensors, served by index-batching loaders."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from briskml.checks import check_non_negative_int, check_one_of, check_positive_int
from briskml.data import TensorLoader
from briskml.errors import ConfigError
from briskml.frames import require_frame
from briskml.splits import split
from briskml.tabular.columns import cont_cat_split
from briskml.tabular.pipeline import UNKNOWN_CHOICES, ProcLike, TabularPipeline
from briskml.tabular.procs import Categorify, FillMissing, Normalize

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
                 valid: TensorLoader | None = None, test: TensorLoader | None = None, *,
                 train_idx: Sequence[int] | None = None,
                 valid_idx: Sequence[int] | None = None) -> None:
        self.pipeline, self.train, self.valid, self.test = pipeline, train, valid, test
        num_train, num_valid = train.n, valid.n if valid is not None else 0
        # Built by hand without positions: the training rows are taken to come first.
        self._train_idx = _positions(train_idx, np.arange(num_train))
        self._valid_idx = _positions(valid_idx, np.arange(num_train, num_train + num_valid))

    @classmethod
    def from_df(cls, df: pd.DataFrame, y: str | Sequence[str],
                cat_names: Sequence[str] | None = None, cont_names: Sequence[str] | None = None,
                procs: Sequence[ProcLike] = DEFAULT_PROCS, valid_idx: Sequence[int] | None = None,
                valid_pct: float = 0.2, seed: int | None = None,
                test_df: pd.DataFrame | None = None, bs: int = 1024,
                val_bs: int | None = None, y_block: str | None = None,
                log_y: bool = False, unknown: str = "warn") -> TabularData:
        """Fit `procs` and the target's classes on the training rows of `df` and build the
        loaders; `df` is not modified.

        Args:
            y: the target column (several 0/1 columns make a multi-label target).
            cat_names, cont_names: the input columns; when both are None, `cont_cat_split`
                guesses them from the other columns. Categorical columns may hold text (`str`
                or object), integers, booleans, pandas `category`, nullable `Int64`, `boolean`
                or `Float64`, dates or durations (see Categorify); continuous ones numbers,
                booleans or nullable numbers. pd.NA, None, NaN and +-inf are missing values;
                dates as continuous inputs, or text that is not a number, are refused by name.
                Each column must be named once, by a string.
            valid_idx: positions (0-based, as `df.iloc`) of the validation rows; otherwise a
                random `valid_pct` of the rows (`numpy.random.RandomState(seed)`), 0 for none.
            val_bs: batch size for validation and test (default max(bs, 4096): no gradients).
            y_block: "category", "regression" or "multi_label" to override the guess from y's
                dtype; `log_y=True` trains a regression on log(y) and predicts exp of the output.
            unknown: categories unseen in the training rows and missing or infinite inputs in the
                validation and test rows get code 0 / the training fill value; "warn" counts them
                in one BriskWarning per set, "error" raises, "ignore" is silent. (Infinite inputs
                of the training rows are filled likewise, with a warning; a missing or infinite
                target in any row is a DataError naming the column and the rows.)

        Example:
            >>> data = TabularData.from_df(df, y="salary", cat_names=["workclass"],
            ...                            cont_names=["age"], valid_idx=valid_idx, bs=1024)
        """
        require_frame(df, "df")
        check_one_of(unknown, UNKNOWN_CHOICES, "unknown")
        bs, val_bs = _batch_sizes(bs, val_bs)
        y_names = [y] if isinstance(y, str) else list(y)
        cat_names, cont_names = _input_names(df, y_names, cat_names, cont_names)
        train_idx, valid_idx = split(len(df), valid_idx=valid_idx, valid_pct=valid_pct,
                                     seed=seed, what="rows", min_train=2)
        pipeline, (cats, conts) = TabularPipeline.fit_transform(
            df, train_idx, cat_names, cont_names, procs, y_names, y_block, log_y)
        targets = pipeline.targets(df.iloc[train_idx], "training rows")
        train = _train_loader(cats, conts, targets, bs)
        valid = (pipeline_loader(pipeline, df.iloc[valid_idx], val_bs, unknown,
                                 "validation rows") if len(valid_idx) else None)
        test = (pipeline_loader(pipeline, test_df, val_bs, unknown, "test rows")
                if test_df is not None else None)
        return cls(pipeline, train, valid, test, train_idx=train_idx, valid_idx=valid_idx)

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
    def train_idx(self) -> np.ndarray:
        """Positions (0-based, as `df.iloc`) of the training rows, int64, read-only."""
        return self._train_idx

    @property
    def valid_idx(self) -> np.ndarray:
        """Positions (0-based, as `df.iloc`) of the validation rows, int64, read-only; empty
        when there are none."""
        return self._valid_idx

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
        check_non_negative_int(n, "n")
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
        check_one_of(ds, ("train", "valid", "test"), "ds")
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
    bs = check_positive_int(bs, "bs")
    if val_bs is None:
        return bs, max(bs, 4096)
    return bs, check_positive_int(val_bs, "val_bs")


def _positions(given: Sequence[int] | None, default: np.ndarray) -> np.ndarray:
    positions = np.asarray(default if given is None else given, dtype=np.int64).reshape(-1)
    positions.setflags(write=False)  # the split is a fact about the data, not a setting
    return positions


def _train_loader(cats: Tensor, conts: Tensor, targets: Tensor, bs: int) -> TensorLoader:
    # Drop the last partial batch, as fastai does: a batch of one row has no batch statistics.
    num_rows = len(cats)
    return TensorLoader(cats, conts, targets, bs=min(bs, num_rows), shuffle=True,
                        drop_last=num_rows > bs)


def pipeline_loader(pipeline: TabularPipeline, rows: pd.DataFrame, bs: int,
                    unknown: str = "warn", label: str | None = None) -> TensorLoader:
    """An in-order loader over `rows`; with targets when every target column is present.

    Unseen categories and missing (or infinite) inputs are handled as `unknown` says; a missing
    or infinite target is a DataError. `label` names the rows in both ("validation rows").
    """
    cats, conts = pipeline.inputs(rows, unknown=unknown, rows=label)
    tensors: list[Tensor] = [cats, conts]
    has_target = all(name in rows.columns for name in pipeline.y_names)
    if has_target:
        tensors.append(pipeline.targets(rows, label))
    return TensorLoader(*tensors, bs=bs, has_target=has_target)
