"""Callbacks that watch the per-epoch results: early stopping, keeping the best model, a CSV log."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import Any, TextIO

from briskml.callbacks.core import Callback, CancelFit
from briskml.errors import ConfigError

_LOWER_IS_BETTER = ("loss", "error", "mse", "rmse", "mae", "perplexity")


class _Tracker(Callback):
    """Follow one column of the epoch table and say when it improves."""

    order = 60  # after the Recorder has written the epoch's row and Progress has printed it
    run_during_lr_find = False

    def __init__(self, monitor: str = "valid_loss", comp: str | None = None,
                 min_delta: float = 0.0) -> None:
        if comp not in (None, "min", "max"):
            raise ConfigError(f"comp must be 'min', 'max' or None (guess); got {comp!r}.")
        self.monitor = monitor
        self.comp = comp
        self.min_delta = abs(min_delta)

    def before_fit(self) -> None:
        """Check the monitored name exists and start from the worst possible value."""
        learn = self.learn
        available = ["train_loss"]
        if learn.data.valid is not None:
            available += ["valid_loss", *[metric.name for metric in learn.metrics]]
        if self.monitor not in available:
            raise ConfigError(f"{type(self).__name__} cannot monitor {self.monitor!r}; "
                              f"this fit records {available}.")
        self.lower_is_better = self._lower_is_better()
        self.best = math.inf if self.lower_is_better else -math.inf
        self.best_epoch: int | None = None

    def _lower_is_better(self) -> bool:
        if self.comp is not None:
            return self.comp == "min"
        for metric in self.learn.metrics:
            if metric.name == self.monitor:
                return getattr(metric, "lower_is_better", False)
        return any(word in self.monitor for word in _LOWER_IS_BETTER)

    def _improved(self) -> bool:
        value = self.learn.recorder.values[-1][self.monitor]
        if self.lower_is_better:
            better = value < self.best - self.min_delta
        else:
            better = value > self.best + self.min_delta
        if better:
            self.best, self.best_epoch = value, self.learn.epoch
        return better

    def state_dict(self) -> dict[str, Any]:
        """The best value so far and its epoch, for a training checkpoint."""
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from a checkpoint's best."""
        best = state["best"]
        self.best = (math.inf if self.lower_is_better else -math.inf) if best is None \
            else float(best)
        self.best_epoch = state["best_epoch"]


class EarlyStopping(_Tracker):
    """Stop fit when `monitor` has not improved for `patience` epochs."""

    def __init__(self, monitor: str = "valid_loss", patience: int = 1, comp: str | None = None,
                 min_delta: float = 0.0) -> None:
        super().__init__(monitor, comp, min_delta)
        if patience < 1:
            raise ConfigError(f"patience must be at least 1; got {patience}.")
        self.patience = patience

    def before_fit(self) -> None:
        """Reset the count of epochs without improvement."""
        super().before_fit()
        self.wait = 0

    def state_dict(self) -> dict[str, Any]:
        """The best so far and the epochs without improvement."""
        return {**super().state_dict(), "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from a checkpoint's best and count."""
        super().load_state_dict(state)
        self.wait = int(state["wait"])

    def after_epoch(self) -> None:
        """Count epochs without improvement; stop after `patience` of them."""
        if self._improved():
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            print(f"No improvement in {self.monitor} since epoch {self.best_epoch}: "
                  "stopping early.", file=sys.stderr)
            raise CancelFit


class SaveBestModel(_Tracker):
    """Save the weights whenever `monitor` improves (to path/models/fname) and load the best at the
    end of fit."""

    def __init__(self, monitor: str = "valid_loss", fname: str = "best", comp: str | None = None,
                 min_delta: float = 0.0, with_opt: bool = False) -> None:
        super().__init__(monitor, comp, min_delta)
        self.fname = fname
        self.with_opt = with_opt

    def after_epoch(self) -> None:
        """Save a checkpoint when this epoch is the best so far."""
        if self._improved():
            self.learn.save(self.fname, with_opt=self.with_opt)

    def after_fit(self) -> None:
        """Load the best checkpoint of this fit, if one was saved."""
        if self.best_epoch is not None:
            self.learn.load(self.fname, with_opt=self.with_opt)
            print(f"Loaded the best model ({self.monitor} {self.best:.6f}, "
                  f"epoch {self.best_epoch}).", file=sys.stderr)


class CSVLogger(Callback):
    """Append each epoch's row of the table to a CSV file (path/fname), one header per file."""

    order = 60
    run_during_lr_find = False

    def __init__(self, fname: str = "history.csv") -> None:
        self.fname = fname
        self._file: TextIO | None = None

    def before_fit(self) -> None:
        """Open the file for appending; refuse to mix columns with an existing log."""
        learn = self.learn
        self.path = Path(learn.path) / self.fname
        self.columns = ["epoch", "train_loss"]
        if learn.data.valid is not None:
            self.columns += ["valid_loss", *[metric.name for metric in learn.metrics]]
        self.columns.append("time")
        existing = self._existing_header()
        if existing is not None and existing != self.columns:
            raise ConfigError(
                f"'{self.path}' already logs columns {existing}, but this fit records "
                f"{self.columns}. Pass another fname to CSVLogger so the old log is kept."
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        if existing is None:
            self._writer.writerow(self.columns)

    def _existing_header(self) -> list[str] | None:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return None
        with open(self.path, newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), None)

    def after_epoch(self) -> None:
        """Write and flush this epoch's row."""
        row: dict[str, Any] = self.learn.recorder.values[-1]
        self._writer.writerow([row.get(name, "") for name in self.columns])
        if self._file is not None:
            self._file.flush()

    def after_fit(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
