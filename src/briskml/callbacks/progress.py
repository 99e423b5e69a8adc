"""Progress: a bar per training and validation pass, then the lessons' epoch table."""

from __future__ import annotations

import math
import sys
from typing import Any

from tqdm.auto import tqdm

from briskml.callbacks.core import Callback


def format_time(seconds: float) -> str:
    """mm:ss, as the lessons' tables show it (hh:mm:ss past an hour)."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def format_value(value: Any) -> str:
    """How a table cell reads: integers plain, floats with six decimals."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.6f}"


class ProgressCallback(Callback):
    """Bars go to stderr (only on a terminal or notebook); one table row per epoch goes to stdout.

    Plain text rows read the same in a terminal, a log file and a notebook.
    """

    order = 55
    run_during_lr_find = False

    def __init__(self) -> None:
        self._bar: Any = None
        self._columns: list[str] = []

    def before_fit(self) -> None:
        """Work out the table's columns and print its header."""
        learn = self.learn
        columns = ["epoch", "train_loss"]
        if learn.data.valid is not None:
            columns += ["valid_loss", *[metric.name for metric in learn.metrics]]
        self._columns = [*columns, "time"]
        self._widths = [max(len(name), 10) for name in self._columns]
        print(self._format_row(self._columns), flush=True)

    def before_train(self) -> None:
        """Open a bar for the training batches."""
        learn = self.learn
        self._open_bar(len(learn.data.train), f"epoch {learn.epoch + 1}/{learn.n_epoch} train")

    def before_validate(self) -> None:
        """Open a bar for the validation batches."""
        self._open_bar(len(self.learn.loader), "valid")

    def after_batch(self) -> None:
        """Advance the bar."""
        if self._bar is not None:
            self._bar.update()

    def after_train(self) -> None:
        """Close the training bar."""
        self._close_bar()

    def after_validate(self) -> None:
        """Close the validation bar."""
        self._close_bar()

    def after_epoch(self) -> None:
        """Print this epoch's row of the table."""
        row = self.learn.recorder.values[-1]
        cells = [format_time(row["time"]) if name == "time" else format_value(row.get(name))
                 for name in self._columns]
        print(self._format_row(cells), flush=True)

    def after_fit(self) -> None:
        """Close any bar left open by a cancelled or failed fit."""
        self._close_bar()

    def _format_row(self, cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, self._widths, strict=True))

    def _open_bar(self, total: int, description: str) -> None:
        self._close_bar()
        # disable=None: no bar when stderr is not a terminal, so log files stay clean.
        self._bar = tqdm(total=total, desc=description, leave=False, file=sys.stderr,
                         disable=None, dynamic_ncols=True)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
