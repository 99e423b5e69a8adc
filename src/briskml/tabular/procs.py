"""Tabular processors (FillMissing, Categorify, Normalize) and the lessons' column helpers.

A processor learns its state from the training rows once (`fit`) and then applies exactly that state
to any rows (`transform`): validation, test and inference alike. Its state is plain JSON
(`to_json` / `from_json`), so an exported learner carries it without pickling anything. Processors
run in the order of their `order` attribute (FillMissing, Categorify, Normalize), as in fastai, so
the order of the `procs` list does not matter.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from briskml.checks import check_non_negative_int, check_one_of, is_number
from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.frames import plain_value

NA_SUFFIX = "_na"
MISSING_LABEL = "#na#"  # how code 0 (missing or unseen) reads in decoded tables, as in fastai
FLOAT32_MAX = float(np.finfo(np.float32).max)  # inputs saturate here: the model is float32


@dataclass
class ProcReport:
    """Per column: missing values filled or coded 0, and categories unseen in training."""

    missing: dict[str, int] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)
    unseen_examples: dict[str, list[Any]] = field(default_factory=dict)
    fill_values: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unseen)

    def describe(self) -> str:
        """One line per column, e.g. "workclass: 2 unseen categories (e.g. 'Alien')"."""
        columns = list(dict.fromkeys([*self.unseen, *self.missing]))
        return "; ".join(self._describe_column(column) for column in columns)

    def _describe_column(self, column: str) -> str:
        parts = []
        if column in self.unseen:
            examples = ", ".join(repr(value) for value in self.unseen_examples[column])
            parts.append(f"{self.unseen[column]} unseen categor"
                         f"{'y' if self.unseen[column] == 1 else 'ies'} (e.g. {examples})")
        if column in self.missing:
            where = (f"filled with {self.fill_values[column]:g}" if column in self.fill_values
                     else "coded as missing")
            parts.append(f"{self.missing[column]} missing ({where})")
        return f"{column}: " + ", ".join(parts)


class TabularProc:
    """Base class: learn from the training rows with `fit`, apply that state with `transform`."""

    order: ClassVar[int] = 0

    def fit(self, df: pd.DataFrame, cat_names: Sequence[str], cont_names: Sequence[str]
            ) -> tuple[list[str], list[str]]:
        """Learn from the training rows; return (cat_names, cont_names) after this processor."""
        raise NotImplementedError

    def transform(self, df: pd.DataFrame, report: ProcReport | None = None) -> pd.DataFrame:
        """A new DataFrame with this processor applied; `df` itself is never modified."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """The fitted state as JSON-able values."""
        raise NotImplementedError

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> TabularProc:
        """Rebuild a fitted processor from `to_json`'s output."""
        raise NotImplementedError

    def _check_fitted(self, attribute: str) -> None:
        if getattr(self, attribute) is None:
            raise ConfigError(f"{type(self).__name__} is not fitted yet; call fit on the "
                              "training rows first.")


class FillMissing(TabularProc):
    """Fill missing continuous values with a statistic of the training rows.

    Each continuous column with missing values in the training rows also gets a boolean categorical
    column `<col>_na`; a column that is missing only in later rows is filled with the same statistic
    (and gets no new column).

    Example:
        >>> proc = FillMissing(fill_strategy="median")
        >>> cat_names, cont_names = proc.fit(train_df, ["city"], ["age"])
        >>> filled = proc.transform(valid_df)
    """

    order = 0
    STRATEGIES = ("median", "mean", "constant")

    def __init__(self, fill_strategy: str = "median", fill_value: float = 0.0,
                 add_col: bool = True) -> None:
        check_one_of(fill_strategy, self.STRATEGIES, "fill_strategy")
        if not is_number(fill_value) or not math.isfinite(fill_value):
            raise ConfigError(f"fill_value must be a finite number; got {fill_value!r}.")
        self.fill_strategy, self.fill_value = fill_strategy, float(fill_value)
        self.add_col = add_col
        self.fill_values: dict[str, float] | None = None
        self.na_names: list[str] = []

    def fit(self, df: pd.DataFrame, cat_names: Sequence[str], cont_names: Sequence[str]
            ) -> tuple[list[str], list[str]]:
        """Compute each continuous column's fill value; note which need an `_na` column."""
        self.fill_values = {name: self._statistic(df[name], name) for name in cont_names}
        missing = [name for name in cont_names if df[name].isna().any()]
        self.na_names = missing if self.add_col else []
        added = [name + NA_SUFFIX for name in self.na_names]
        clashes = [name for name in added if name in df.columns or name in cat_names]
        if clashes:
            raise DataError(f"FillMissing would add the columns {clashes}, but they already exist; "
                            "rename them or fill those columns' missing values yourself.")
        return [*cat_names, *added], list(cont_names)

    def _statistic(self, values: pd.Series, name: str) -> float:
        if self.fill_strategy == "constant":
            return self.fill_value
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        numbers = numbers[~np.isnan(numbers)]
        if numbers.size == 0:
            warnings.warn(f"Column '{name}' has no values in the training rows; FillMissing fills "
                          f"it with {self.fill_value:g}.", BriskWarning, stacklevel=4)
            return self.fill_value
        statistic = np.median(numbers) if self.fill_strategy == "median" else np.mean(numbers)
        return float(statistic) if math.isfinite(statistic) else self.fill_value

    def transform(self, df: pd.DataFrame, report: ProcReport | None = None) -> pd.DataFrame:
        """Add the `_na` columns, then fill every missing continuous value (counted in `report`)."""
        self._check_fitted("fill_values")
        out = df.copy(deep=False)
        for name in self.na_names:
            out[name + NA_SUFFIX] = df[name].isna().to_numpy()
        for name, value in self.fill_values.items():
            missing = df[name].isna()
            count = int(missing.sum())
            if not count:
                continue
            out[name] = df[name].where(~missing, value)
            if report is not None:
                report.missing[name] = count
                report.fill_values[name] = value
        return out

    def to_json(self) -> dict[str, Any]:
        self._check_fitted("fill_values")
        return {"fill_strategy": self.fill_strategy, "fill_value": self.fill_value,
                "add_col": self.add_col, "fill_values": self.fill_values,
                "na_names": self.na_names}

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> FillMissing:
        proc = cls(state["fill_strategy"], state["fill_value"], state["add_col"])
        proc.fill_values = {name: float(value) for name, value in state["fill_values"].items()}
        proc.na_names = list(state["na_names"])
        return proc


class Categorify(TabularProc):
    """Replace each categorical column by integer codes; code 0 means missing or unseen.

    Categories come from the training rows, sorted (or in the order of an ordered pandas
    Categorical), so codes run 1..n and the embedding of code 0 stands for "not known".

    Example:
        >>> proc = Categorify()
        >>> proc.fit(train_df, ["city"], [])
        >>> proc.transform(pd.DataFrame({"city": ["Lyon", "Atlantis", None]}))["city"].tolist()
        [1, 0, 0]
    """

    order = 1

    def __init__(self) -> None:
        self.categories: dict[str, list[Any]] | None = None
        self.as_text: list[str] = []  # columns whose values are compared as strings (mixed types)
        self._lookups: dict[str, pd.Index] = {}  # hash tables built once, on first use

    def fit(self, df: pd.DataFrame, cat_names: Sequence[str], cont_names: Sequence[str]
            ) -> tuple[list[str], list[str]]:
        """Collect each categorical column's categories from the training rows."""
        self._lookups = {}
        self.categories, self.as_text = {}, []
        for name in cat_names:
            self.categories[name] = self._categories_of(df[name], name)
        return list(cat_names), list(cont_names)

    def _categories_of(self, values: pd.Series, name: str) -> list[Any]:
        if isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered:
            present = set(values.dropna().unique().tolist())
            return [plain_value(value) for value in values.dtype.categories if value in present]
        unique = pd.Index(values.dropna().unique())
        if not _is_json_scalar_kind(unique):
            self.as_text.append(name)
            unique = pd.Index(unique.astype(str).unique())
        try:
            unique = unique.sort_values()
        except TypeError:  # mixed types such as 1 and "a" cannot be sorted: compare as text
            self.as_text.append(name)
            unique = pd.Index(unique.astype(str).unique()).sort_values()
        return [plain_value(value) for value in unique.tolist()]

    def transform(self, df: pd.DataFrame, report: ProcReport | None = None) -> pd.DataFrame:
        """Map every categorical value to its code (0 for missing or unseen values, counted in
        `report`)."""
        self._check_fitted("categories")
        out = df.copy(deep=False)
        for name, categories in self.categories.items():
            out[name] = self._codes(df[name], name, categories, report)
        return out

    def _codes(self, values: pd.Series, name: str, categories: list[Any],
               report: ProcReport | None) -> np.ndarray:
        if name in self.as_text:
            values = values.where(values.isna(), values.astype(str))
        if name not in self._lookups:
            self._lookups[name] = pd.Index(categories)
        codes = self._lookups[name].get_indexer_for(values).astype(np.int64) + 1  # -1 -> 0
        if report is not None:
            self._report(values, codes, name, report)
        return codes

    @staticmethod
    def _report(values: pd.Series, codes: np.ndarray, name: str, report: ProcReport) -> None:
        missing = values.isna().to_numpy()
        unseen = (codes == 0) & ~missing
        if missing.any():
            report.missing[name] = int(missing.sum())
        if unseen.any():
            report.unseen[name] = int(unseen.sum())
            report.unseen_examples[name] = pd.unique(values[unseen].to_numpy())[:3].tolist()

    def decode(self, name: str, codes: np.ndarray) -> np.ndarray:
        """Category labels for the codes of column `name` (code 0 reads "#na#")."""
        self._check_fitted("categories")
        labels = np.array([MISSING_LABEL, *self.categories[name]], dtype=object)
        return labels[np.asarray(codes, dtype=np.int64)]

    def to_json(self) -> dict[str, Any]:
        self._check_fitted("categories")
        return {"categories": self.categories, "as_text": self.as_text}

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> Categorify:
        proc = cls()
        proc.categories = {name: list(values) for name, values in state["categories"].items()}
        proc.as_text = list(state["as_text"])
        return proc


class Normalize(TabularProc):
    """Standardise each continuous column with the training rows' mean and standard deviation.

    A constant column keeps a standard deviation of 1, so it never produces NaN or infinity.

    Example:
        >>> proc = Normalize()
        >>> proc.fit(train_df, [], ["age"])
        >>> proc.transform(valid_df)["age"].mean()
    """

    order = 2

    def __init__(self) -> None:
        self.means: dict[str, float] | None = None
        self.stds: dict[str, float] = {}

    def fit(self, df: pd.DataFrame, cat_names: Sequence[str], cont_names: Sequence[str]
            ) -> tuple[list[str], list[str]]:
        """Compute each continuous column's mean and standard deviation (float64)."""
        self.means, self.stds = {}, {}
        for name in cont_names:
            values = _float64(df[name])
            values = values[~np.isnan(values)]
            mean = float(values.mean()) if values.size else 0.0
            std = float(values.std()) if values.size else 0.0
            self.means[name] = mean
            self.stds[name] = std if std > 0 and math.isfinite(std) else 1.0
        return list(cat_names), list(cont_names)

    def transform(self, df: pd.DataFrame, report: ProcReport | None = None) -> pd.DataFrame:
        """Replace each continuous column by (value - mean) / std, as float32."""
        self._check_fitted("means")
        out = df.copy(deep=False)
        for name, mean in self.means.items():
            scaled = (_float64(df[name]) - mean) / self.stds[name]
            # Saturate at float32's range: the model's inputs are float32.
            out[name] = np.clip(scaled, -FLOAT32_MAX, FLOAT32_MAX).astype(np.float32)
        return out

    def decode(self, name: str, values: np.ndarray) -> np.ndarray:
        """Undo the normalisation of column `name`."""
        self._check_fitted("means")
        return np.asarray(values, dtype=np.float64) * self.stds[name] + self.means[name]

    def to_json(self) -> dict[str, Any]:
        self._check_fitted("means")
        return {"means": self.means, "stds": self.stds}

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> Normalize:
        proc = cls()
        proc.means = {name: float(value) for name, value in state["means"].items()}
        proc.stds = {name: float(value) for name, value in state["stds"].items()}
        return proc


PROCS: dict[str, type[TabularProc]] = {
    "FillMissing": FillMissing, "Categorify": Categorify, "Normalize": Normalize,
}


def proc_to_json(proc: TabularProc) -> dict[str, Any]:
    """{"name": ..., "state": ...} for one of the built-in processors."""
    name = type(proc).__name__
    if PROCS.get(name) is not type(proc):
        raise ConfigError(f"Only the built-in processors {sorted(PROCS)} can be exported; "
                          f"got {name}. Apply custom processing to the DataFrame beforehand.")
    return {"name": name, "state": proc.to_json()}


def proc_from_json(spec: dict[str, Any]) -> TabularProc:
    """Rebuild a processor written by `proc_to_json`."""
    return PROCS[spec["name"]].from_json(spec["state"])


def _float64(values: pd.Series) -> np.ndarray:
    """Values as float64, missing as NaN, clipped to float32's range so statistics stay finite."""
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.clip(numbers, -FLOAT32_MAX, FLOAT32_MAX)


def _is_json_scalar_kind(index: pd.Index) -> bool:
    """True when the values are strings, integers, floats or booleans (they survive JSON)."""
    if index.dtype.kind in "biuf":
        return True
    return all(isinstance(value, (str, bool, int, float, np.generic)) for value in index.tolist())


# ----- helpers from the lessons ----------------------------------------------------------------
def cont_cat_split(df: pd.DataFrame, max_card: int = 20, dep_var: str | Sequence[str] | None = None
                   ) -> tuple[list[str], list[str]]:
    """Guess (cont_names, cat_names): floats, and integers with more than `max_card` values, are
    continuous; everything else is categorical. Dates are left out (use `add_datepart`).

    Example:
        >>> cont_names, cat_names = cont_cat_split(df, max_card=20, dep_var="salary")
    """
    check_non_negative_int(max_card, "max_card")
    excluded = {dep_var} if isinstance(dep_var, str) else set(dep_var or ())
    cont_names, cat_names = [], []
    for name in df.columns:
        if name in excluded or pd.api.types.is_datetime64_any_dtype(df[name].dtype):
            continue
        dtype = df[name].dtype
        is_bool = pd.api.types.is_bool_dtype(dtype)
        is_integer = pd.api.types.is_integer_dtype(dtype) and not is_bool
        if pd.api.types.is_float_dtype(dtype) or (is_integer and df[name].nunique() > max_card):
            cont_names.append(name)
        else:
            cat_names.append(name)
    return cont_names, cat_names


_DATE_PARTS = ("Year", "Month", "Week", "Day", "Dayofweek", "Dayofyear", "Is_month_end",
               "Is_month_start", "Is_quarter_end", "Is_quarter_start", "Is_year_end",
               "Is_year_start")

_PANDAS_NAMES = {"Dayofweek": "day_of_week", "Dayofyear": "day_of_year"}


def add_datepart(df: pd.DataFrame, column: str, prefix: str | None = None, drop: bool = True,
                 time: bool = False) -> pd.DataFrame:
    """A new DataFrame where the date `column` becomes Year, Month, Week, Day, Dayofweek, Dayofyear,
    Is_month_end/start, Is_quarter_end/start, Is_year_end/start and Elapsed (seconds since 1970);
    `time=True` adds Hour, Minute and Second. `df` itself is not modified.

    Example:
        >>> df = add_datepart(df, "saledate")   # saleYear, saleMonth, ..., saleElapsed
    """
    if column not in df.columns:
        raise DataError(f"add_datepart: no column {column!r}; the columns are {list(df.columns)}.")
    dates = _as_dates(df[column], column)
    prefix = re.sub("[Dd]ate$", "", column) if prefix is None else prefix
    parts = {prefix + part: _date_part(dates, part) for part in _DATE_PARTS}
    if time:
        parts.update({prefix + unit: getattr(dates.dt, unit.lower()) for unit in
                      ("Hour", "Minute", "Second")})
    parts[prefix + "Elapsed"] = _whole_numbers(_seconds_since_epoch(dates))
    out = df.drop(columns=[column]) if drop else df.copy(deep=False)
    return out.assign(**pd.DataFrame(parts, index=df.index))


def _as_dates(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    try:
        return pd.to_datetime(values)
    except (ValueError, TypeError) as error:
        raise DataError(f"add_datepart: column {column!r} does not hold dates ({error}); convert "
                        "it with pd.to_datetime(..., format=...) first.") from error


def _date_part(dates: pd.Series, part: str) -> pd.Series:
    if part == "Week":
        return _whole_numbers(dates.dt.isocalendar().week)
    values = getattr(dates.dt, _PANDAS_NAMES.get(part, part.lower()))
    return values if part.startswith("Is_") else _whole_numbers(values)


def _seconds_since_epoch(dates: pd.Series) -> pd.Series:
    epoch = pd.Timestamp(0, tz=dates.dt.tz)
    return (dates - epoch).dt.total_seconds() // 1


def _whole_numbers(values: pd.Series) -> pd.Series:
    """int64, or float64 when some dates are missing (NaN marks them, for FillMissing)."""
    return values.astype("float64") if values.isna().any() else values.astype("int64")
