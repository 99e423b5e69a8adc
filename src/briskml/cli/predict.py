"""`briskml predict`: any exported model over a table of any size, streamed in chunks."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import pandas as pd
import typer
from tqdm.auto import tqdm

from briskml.cli._common import (
    Force,
    check_device,
    check_input_file,
    check_output,
    column_list,
    count_rows,
    describe_file_size,
    iter_table_chunks,
    note,
)
from briskml.errors import ConfigError, DataError
from briskml.export import load_learner
from briskml.learner import Learner
from briskml.persist import atomic_path

DEFAULT_CHUNK_ROWS = 65_536


def predict(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="An exported model (.brisk).",
                                          show_default=False)],
    rows_file: Annotated[Path, typer.Argument(
        metavar="INPUT", help="The rows to predict: CSV, or Parquet (*.parquet).",
        show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="CSV", help="The CSV file to write (default: stdout).",
        show_default=False, dir_okay=False)] = None,
    force: Force = False,
    chunk_size: Annotated[int, typer.Option(
        "--chunk-size", min=1, help="Rows read, predicted and written at a time.")
    ] = DEFAULT_CHUNK_ROWS,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse categories or ids never seen in training instead of predicting "
        "them as missing / as the average user or item.")] = False,
    device: Annotated[str, typer.Option("--device", metavar="DEVICE",
                                        help="cpu, cuda, cuda:1 ...")] = "cpu",
    text_col: Annotated[list[str] | None, typer.Option(
        "--text-col", metavar="COLUMN", help="A text classifier's column of texts (repeat it for "
        "several fields, in the training order; default: the column named text, or the only "
        "column of strings).", show_default=False)] = None,
) -> None:
    """Predict every row of a table with an exported model; the output is CSV.

    The output holds the input's rows, in order, with the prediction columns added (tabular:
    prediction and one probability per class; collab: prediction, unseen, fallback; text
    classifier: prediction and one probability per class). The input is streamed in chunks, so its
    size is not limited by memory.

    Example: briskml predict adult.brisk new_people.csv --out predictions.csv
    """
    if out is not None:
        check_output(out, force)
    check_input_file(model, "MODEL")
    check_input_file(rows_file, "INPUT")
    check_device(device)
    learn = load_learner(model, device=device)
    _check_predicts_tables(learn, model, text_col)
    options = {"strict": strict, "text_cols": column_list(text_col)}
    with _output(out) as handle, _summarised_warnings():
        num_rows = _stream(learn, rows_file, handle, chunk_size, options)
    where = f"{out} ({describe_file_size(out)})" if out is not None else "stdout"
    note(f"predicted {num_rows:,} rows -> {where}")


def _check_predicts_tables(learn: Learner, model: Path, text_col: list[str] | None) -> None:
    """Refuse, before reading any rows, a model that does not predict rows of a table, or a
    --text-col for a model that does not read texts."""
    if not learn.predicts_tables:
        instead = learn.table_alternative.replace("MODEL", str(model))
        raise ConfigError(f"'{model}' holds a {learn.kind} model, which does not predict rows of "
                          f"a table; {instead}")
    if text_col is not None and not learn.reads_text:
        raise ConfigError(f"--text-col is for text classifiers; '{model}' holds a {learn.kind} "
                          "model, which reads the columns it was trained on.")


@contextlib.contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    """stdout, or a temporary file that replaces `out` only once every row is written."""
    if out is None:
        yield sys.stdout
        return
    with atomic_path(out) as temporary, open(temporary, "w", newline="",
                                              encoding="utf-8") as handle:
        yield handle


def _stream(learn: Learner, rows_file: Path, handle: TextIO, chunk_rows: int,
            options: dict[str, Any]) -> int:
    """Predict chunk by chunk, appending each to `handle`; return the number of rows."""
    num_rows = 0
    bar = tqdm(total=count_rows(rows_file), unit="rows", desc="predict", file=sys.stderr,
               disable=None, leave=False)
    with bar:
        for chunk in iter_table_chunks(rows_file, chunk_rows):
            if chunk.empty:
                continue
            rows = _with_predictions(chunk, learn.predict_table(chunk, **options), rows_file)
            rows.to_csv(handle, header=num_rows == 0, index=False)
            num_rows += len(chunk)
            bar.update(len(chunk))
    if num_rows == 0:
        raise DataError(f"INPUT '{rows_file}' has no rows to predict.")
    return num_rows


def _with_predictions(rows: pd.DataFrame, predictions: pd.DataFrame, rows_file: Path
                      ) -> pd.DataFrame:
    """The input rows with the prediction columns on their right."""
    clashes = [name for name in predictions.columns if name in rows.columns]
    if clashes:
        raise DataError(f"INPUT '{rows_file}' already has the column(s) {clashes} that predict "
                        "adds (is it an earlier output of briskml predict?); drop or rename them.")
    return pd.concat([rows, predictions], axis=1)


@contextlib.contextmanager
def _summarised_warnings() -> Iterator[None]:
    """Each chunk may warn (e.g. unseen categories): show the first of each kind and a count."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    by_category: dict[type, list[str]] = {}
    for warning in caught:
        by_category.setdefault(warning.category, []).append(str(warning.message))
    for messages in by_category.values():
        more = len(messages) - 1
        suffix = f" ({more} more like it in later chunks)" if more else ""
        note(f"warning: {messages[0]}{suffix}")
