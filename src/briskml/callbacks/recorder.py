"""Recorder: what happened during fit (losses, schedules, per-epoch results) and its plots."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from briskml import plots
from briskml.callbacks.core import Callback
from briskml.errors import ConfigError
from briskml.optim import group_momentum

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Recorder(Callback):
    """Always on. After a fit: `losses` (per training batch), `lrs` and `moms` (per iteration, last
    layer group), `values` (per epoch: epoch, train_loss, valid_loss, metrics, time)."""

    order = 50
    run_during_lr_find = False

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.lrs: list[float] = []
        self.moms: list[float | None] = []
        self.values: list[dict[str, Any]] = []
        self.batches_per_epoch = 0
        self.lr_find_lrs: list[float] = []
        self.lr_find_losses: list[float] = []
        self.lr_find_suggestions: dict[str, float] = {}

    def before_fit(self) -> None:
        """Start a fresh history for this fit."""
        self.losses, self.lrs, self.moms, self.values = [], [], [], []
        self.batches_per_epoch = len(self.learn.data.train)

    def before_epoch(self) -> None:
        """Start the epoch's clock and loss total (a resumed epoch goes on with its own)."""
        self._epoch_start = time.perf_counter()
        self._loss_total, self._loss_count = getattr(self, "_resumed_totals", (0.0, 0))
        self._resumed_totals = (0.0, 0)

    def state_dict(self) -> dict[str, Any]:
        """The history so far and the current epoch's loss total, for a training checkpoint."""
        return {"losses": self.losses, "lrs": self.lrs, "moms": self.moms,
                "values": self.values, "loss_total": getattr(self, "_loss_total", 0.0),
                "loss_count": getattr(self, "_loss_count", 0)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on with a checkpoint's history (its epoch's loss total from the next epoch start)."""
        self.losses, self.lrs = list(state["losses"]), list(state["lrs"])
        self.moms, self.values = list(state["moms"]), [dict(row) for row in state["values"]]
        self._resumed_totals = (float(state["loss_total"]), int(state["loss_count"]))

    def after_batch(self) -> None:
        """Record the training loss and the last layer group's lr and momentum."""
        learn = self.learn
        if not learn.training or learn.loss is None:
            return
        loss = learn.loss.item()
        size = learn.targets.numel()
        self.losses.append(loss)
        self._loss_total += loss * size
        self._loss_count += size
        last_group = learn.opt.param_groups[-1]  # torch groups follow the layer groups' order
        self.lrs.append(last_group["lr"])
        self.moms.append(group_momentum(last_group))

    def after_epoch(self) -> None:
        """Store this epoch's row: train loss (mean over its batches), validation results, time."""
        row: dict[str, Any] = {"epoch": self.learn.epoch}
        count = self._loss_count
        row["train_loss"] = self._loss_total / count if count else float("nan")
        row.update(self.learn.valid_results)
        row["time"] = time.perf_counter() - self._epoch_start
        self.values.append(row)
        self._loss_total, self._loss_count = 0.0, 0   # counted: a checkpoint now holds none

    def record_lr_find(self, lrs: list[float], losses: list[float],
                       suggestions: dict[str, float]) -> None:
        """Keep the last lr_find sweep (separately from the training history)."""
        self.lr_find_lrs, self.lr_find_losses = list(lrs), list(losses)
        self.lr_find_suggestions = dict(suggestions)

    def plot_loss(self, path: str | os.PathLike | None = None) -> Figure:
        """Training loss per batch and validation loss per epoch; writes a PNG when given a path."""
        if not self.losses:
            raise ConfigError("Nothing to plot yet: call fit (or fit_one_cycle) first.")
        valid = [row["valid_loss"] for row in self.values if "valid_loss" in row]
        return plots.plot_loss(self.losses, valid, self.batches_per_epoch, path)

    def plot_sched(self, path: str | os.PathLike | None = None) -> Figure:
        """Learning rate and momentum per iteration of the last fit; a PNG when given a path."""
        if not self.lrs:
            raise ConfigError("Nothing to plot yet: call fit (or fit_one_cycle) first.")
        return plots.plot_schedule(self.lrs, self.moms, path)

    def plot_lr_find(self, path: str | os.PathLike | None = None) -> Figure:
        """Loss against learning rate from the last lr_find; writes a PNG when given a path."""
        if not self.lr_find_lrs:
            raise ConfigError("Nothing to plot yet: call lr_find first.")
        return plots.plot_lr_find(self.lr_find_lrs, self.lr_find_losses,
                                  self.lr_find_suggestions, path)
