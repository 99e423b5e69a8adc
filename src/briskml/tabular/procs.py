"""Tabular processors: FillMissing, Categorify and Normalize, and their JSON.

A processor learns its state from the training rows once (`fit`) and then applies exactly that state
to any rows (`transform`): validation, test and inference alike. Its state is plain JSON
(`to_json` / `from_json`, which checks every field with briskml.schema), so an exported learner
carries it without pickling anything. Processors run in the order of their `order` attribute
(FillMissing, Categorify, Normalize), as in fastai, so the order of the `procs` list does not
matter. How they read raw values (what counts as missing, which values are compared as text) is
in `briskml.tabular.values`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from briskml.checks import check_one_of, is_number
from briskml.errors import ConfigError, DataError, warn
from briskml.frames import plain_value
from briskml.schema import (
    expect_bool,
    expect_dict,
    expect_key,
    expect_number,
    expect_str,
    fail,
)
from briskml.tabular.fields import (
    expect_labels,
    expect_names,
    expect_subset,
    numbers_by_column,
)
from briskml.tabular.values import (
    DATE_KINDS,
    all_json_scalars,
    as_dates,
    count_infinite,
    date_kind,
    finite_numbers,
    plain_kind,
    sorted_distinct,
    text_of,
    without_infinity,
)

NA_SUFFIX = "_na"
MISSING_LABEL = "#na#"  # how code 0 (missing or unseen) reads in decoded tables, as in fastai
FLOAT32_MAX = float(np.finfo(np.float32).max)  # inputs saturate here: the model is float32


@dataclass
class ProcReport:
    """Per column: missing values filled or coded 0 (of them, how many were infinite), and
    categories unseen in training."""

    missing: dict[str, int] = field(default_factory=dict)
    infinite: dict[str, int] = field(default_factory=dict)
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
            infinite = (f", {self.infinite[column]} of them infinite"
                        if self.infinite.get(column) else "")
            parts.append(f"{self.missing[column]} missing{infinite} ({where})")
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
    def from_json(cls, state: Any, field: str = "state") -> TabularProc:
        """Rebuild a fitted processor from `to_json`'s output; a SchemaError naming the field
        (`field` is the state's path in the file) when a value is of the wrong type or range."""
        raise NotImplementedError

    def _check_fitted(self, attribute: str) -> None:
        if getattr(self, attribute) is None:
            raise ConfigError(f"{type(self).__name__} is not fitted yet; call fit on the "
                              "training rows first.")


class FillMissing(TabularProc):
    """Fill missing continuous values with a statistic of the training rows.

    Missing means anything that is not a finite number: NaN, None, pd.NA and also +inf and
    -inf (a division by zero, an overflow), which no statistic or standardisation survives.
    Infinite values of the training rows are counted in a BriskWarning naming the column; in
    later rows they are counted with the missing values (`unknown="warn"`).

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
        numbers = {name: finite_numbers(df[name]) for name in cont_names}
        self.fill_values = {name: self._statistic(numbers[name], name) for name in cont_names}
        for name in cont_names:
            infinite = count_infinite(df[name])
            if infinite:
                warn(f"Column {name!r} holds {infinite} infinite value(s) in the training rows; "
                     f"they are treated as missing: filled with {self.fill_values[name]:g}"
                     f"{f' and flagged in {name + NA_SUFFIX!r}' if self.add_col else ''}. "
                     "Replace them yourself to silence this.")
        missing = [name for name in cont_names if np.isnan(numbers[name]).any()]
        self.na_names = missing if self.add_col else []
        added = [name + NA_SUFFIX for name in self.na_names]
        clashes = [name for name in added if name in df.columns or name in cat_names]
        if clashes:
            raise DataError(f"FillMissing would add the columns {clashes}, but they already exist; "
                            "rename them or fill those columns' missing values yourself.")
        return [*cat_names, *added], list(cont_names)

    def _statistic(self, numbers: np.ndarray, name: str) -> float:
        if self.fill_strategy == "constant":
            return self.fill_value
        numbers = numbers[~np.isnan(numbers)]
        if numbers.size == 0:
            warn(f"Column {name!r} has no values in the training rows; FillMissing fills it "
                 f"with {self.fill_value:g}.")
            return self.fill_value
        numbers = np.clip(numbers, -FLOAT32_MAX, FLOAT32_MAX)  # a mean that cannot overflow
        statistic = np.median(numbers) if self.fill_strategy == "median" else np.mean(numbers)
        return float(statistic)

    def transform(self, df: pd.DataFrame, report: ProcReport | None = None) -> pd.DataFrame:
        """Add the `_na` columns, then fill every missing or infinite continuous value (counted
        in `report`)."""
        self._check_fitted("fill_values")
        out = df.copy(deep=False)
        numbers = {name: finite_numbers(df[name]) for name in self.fill_values}
        for name in self.na_names:
            out[name + NA_SUFFIX] = np.isnan(numbers[name])
        for name, value in self.fill_values.items():
            missing = np.isnan(numbers[name])
            count = int(missing.sum())
            if not count:
                continue
            out[name] = np.where(missing, value, numbers[name])
            if report is not None:
                report.missing[name] = count
                report.fill_values[name] = value
                infinite = count_infinite(df[name])
                if infinite:
                    report.infinite[name] = infinite
        return out

    def to_json(self) -> dict[str, Any]:
        self._check_fitted("fill_values")
        return {"fill_strategy": self.fill_strategy, "fill_value": self.fill_value,
                "add_col": self.add_col, "fill_values": self.fill_values,
                "na_names": self.na_names}

    @classmethod
    def from_json(cls, state: Any, field: str = "state") -> FillMissing:
        state = expect_dict(state, field)
        proc = cls(expect_str(expect_key(state, "fill_strategy", field), f"{field}.fill_strategy",
                              cls.STRATEGIES),
                   expect_number(expect_key(state, "fill_value", field), f"{field}.fill_value"),
                   expect_bool(expect_key(state, "add_col", field), f"{field}.add_col"))
        proc.fill_values = numbers_by_column(expect_key(state, "fill_values", field),
                                             f"{field}.fill_values")
        proc.na_names = expect_names(expect_key(state, "na_names", field), f"{field}.na_names")
        if proc.na_names and not proc.add_col:
            raise fail(f"{field}.na_names", "must be empty when add_col is false")
        expect_subset(proc.na_names, proc.fill_values, f"{field}.na_names",
                      f"{field}.fill_values")
        return proc


class Categorify(TabularProc):
    """Replace each categorical column by integer codes; code 0 means missing or unseen.

    Categories come from the training rows, sorted (or in the order of an ordered pandas
    Categorical), so codes run 1..n and the embedding of code 0 stands for "not known".
    Strings (`str` or object), integers, booleans and floats are categories as they are
    (nullable `Int64`, `boolean`, `Float64` and `category` columns too; pd.NA, None, NaN and a
    float's +-inf are missing). Dates, durations and columns that mix types are compared as text:
    a date reads the same whether it comes as a datetime or as the text of a CSV.

    Example:
        >>> proc = Categorify()
        >>> proc.fit(train_df, ["city"], [])
        >>> proc.transform(pd.DataFrame({"city": ["Lyon", "Atlantis", None]}))["city"].tolist()
        [1, 0, 0]
    """

    order = 1

    def __init__(self) -> None:
        self.categories: dict[str, list[Any]] | None = None
        self.as_text: list[str] = []  # columns whose values are compared as text
        self.dates: dict[str, str] = {}  # of those, columns of dates or durations: their kind
        self._lookups: dict[str, pd.Index] = {}  # hash tables built once, on first use

    def fit(self, df: pd.DataFrame, cat_names: Sequence[str], cont_names: Sequence[str]
            ) -> tuple[list[str], list[str]]:
        """Collect each categorical column's categories from the training rows."""
        self._lookups = {}
        self.categories, self.as_text, self.dates = {}, [], {}
        for name in cat_names:
            self.categories[name] = self._categories_of(df[name], name)
        return list(cat_names), list(cont_names)

    def _categories_of(self, values: pd.Series, name: str) -> list[Any]:
        values = without_infinity(values)
        try:
            unique = sorted_distinct(values)
        except TypeError as error:   # unhashable values (lists, dicts)
            raise DataError(f"Column {name!r} (in cat_names) holds values that cannot be "
                            f"categories ({error}); turn them into text or numbers first, e.g. "
                            f"df[{name!r}].astype(str).") from None
        kind = date_kind(values)
        if kind is None and unique is not None and plain_kind(values) and all_json_scalars(
                unique):
            return [plain_value(value) for value in unique.tolist()]
        self.as_text.append(name)
        if kind is not None:   # dates in time order
            self.dates[name] = kind
            return list(dict.fromkeys(text_of(unique)))
        # The text of every value (0 and False are one value but two texts), sorted.
        return sorted(set(text_of(values.dropna())))

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
        values = without_infinity(values)
        keys: Any = values
        if name in self.dates:
            keys = as_dates(values, self.dates[name])
        if name in self.as_text:
            keys = text_of(keys)
        if name not in self._lookups:
            self._lookups[name] = pd.Index(categories)
        try:
            codes = self._lookups[name].get_indexer_for(keys).astype(np.int64) + 1  # -1 -> 0
        except TypeError as error:   # unhashable values (lists, dicts)
            raise DataError(f"Column {name!r} holds values that cannot be compared with its "
                            f"categories ({error}); give it text, numbers or booleans.") from None
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
            examples = values.iloc[np.flatnonzero(unseen)].drop_duplicates().iloc[:3]
            report.unseen_examples[name] = examples.tolist()

    def decode(self, name: str, codes: np.ndarray) -> np.ndarray:
        """Category labels for the codes of column `name` (code 0 reads "#na#")."""
        self._check_fitted("categories")
        labels = np.array([MISSING_LABEL, *self.categories[name]], dtype=object)
        return labels[np.asarray(codes, dtype=np.int64)]

    def to_json(self) -> dict[str, Any]:
        self._check_fitted("categories")
        return {"categories": self.categories, "as_text": self.as_text, "dates": self.dates}

    @classmethod
    def from_json(cls, state: Any, field: str = "state") -> Categorify:
        state = expect_dict(state, field)
        where = f"{field}.categories"
        categories = expect_dict(expect_key(state, "categories", field), where)
        proc = cls()
        proc.categories = {name: expect_labels(values, f"{where}.{name}")
                           for name, values in categories.items()}
        proc.as_text = expect_names(expect_key(state, "as_text", field), f"{field}.as_text")
        expect_subset(proc.as_text, proc.categories, f"{field}.as_text", where)
        for name in proc.as_text:
            for position, label in enumerate(proc.categories[name]):
                if not isinstance(label, str):
                    raise fail(f"{where}.{name}[{position}]", "must be a string (the column "
                               f"is compared as text); got {label!r}")
        # Files written before dates were remembered have no "dates": none are parsed.
        dates = expect_dict(state.get("dates", {}), f"{field}.dates")
        for name, kind in dates.items():
            proc.dates[name] = expect_str(kind, f"{field}.dates.{name}", DATE_KINDS)
            if name not in proc.as_text:
                raise fail(f"{field}.dates.{name}", f"names a column that is not in "
                           f"{field}.as_text ({proc.as_text[:10]})")
        return proc


class Normalize(TabularProc):
    """Standardise each continuous column with the training rows' mean and standard deviation.

    Both are computed on the finite values only (FillMissing, which runs first, has filled the
    others); a constant column keeps a standard deviation of 1, so it never divides by 0.
    Values beyond float32's range saturate there: the model is float32.

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
            values = _clipped(finite_numbers(df[name]))
            values = values[~np.isnan(values)]
            mean = float(values.mean()) if values.size else 0.0
            std = float(values.std()) if values.size else 0.0
            self.means[name] = mean
            self.stds[name] = std if std > 0 and math.isfinite(std) else 1.0
        return list(cat_names), list(cont_names)

    def transform(self, df: pd.DataFrame, report: ProcReport | None = None) -> pd.DataFrame:
        """Replace each continuous column by (value - mean) / std, as float32 (NaN where a value
        is missing or infinite: FillMissing fills those first)."""
        self._check_fitted("means")
        out = df.copy(deep=False)
        for name, mean in self.means.items():
            scaled = (_clipped(finite_numbers(df[name])) - mean) / self.stds[name]
            out[name] = _clipped(scaled).astype(np.float32)
        return out

    def decode(self, name: str, values: np.ndarray) -> np.ndarray:
        """Undo the normalisation of column `name`."""
        self._check_fitted("means")
        return np.asarray(values, dtype=np.float64) * self.stds[name] + self.means[name]

    def to_json(self) -> dict[str, Any]:
        self._check_fitted("means")
        return {"means": self.means, "stds": self.stds}

    @classmethod
    def from_json(cls, state: Any, field: str = "state") -> Normalize:
        state = expect_dict(state, field)
        proc = cls()
        proc.means = numbers_by_column(expect_key(state, "means", field), f"{field}.means")
        proc.stds = numbers_by_column(expect_key(state, "stds", field), f"{field}.stds",
                                      positive=True)
        if list(proc.stds) != list(proc.means):
            raise fail(f"{field}.stds", f"must name the columns of {field}.means "
                       f"({list(proc.means)}); got {list(proc.stds)}")
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


def proc_from_json(spec: Any, field: str = "proc") -> TabularProc:
    """Rebuild a processor written by `proc_to_json`; a SchemaError names the bad field."""
    spec = expect_dict(spec, field)
    name = expect_str(expect_key(spec, "name", field), f"{field}.name", tuple(PROCS))
    return PROCS[name].from_json(expect_key(spec, "state", field), f"{field}.state")


def _clipped(numbers: np.ndarray) -> np.ndarray:
    """Finite values limited to float32's range (NaN stays NaN), so statistics stay finite."""
    return np.clip(numbers, -FLOAT32_MAX, FLOAT32_MAX)
