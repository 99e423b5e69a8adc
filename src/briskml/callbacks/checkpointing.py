"""`Checkpoint`: write the whole training state every few epochs or minutes, so that a run that
dies (kill -9, out of memory, a preempted machine) goes on with `fit(..., resume=folder)`."""

from __future__ import annotations

import time
from pathlib import Path

from briskml.callbacks.core import Callback
from briskml.checks import check_positive_int, check_positive_number
from briskml.resume import write_training_checkpoint


class Checkpoint(Callback):
    """Save a training checkpoint (briskml.resume) every `every_epochs` epochs and, with
    `every_minutes`, also mid-epoch once that many minutes have passed since the last one;
    keep the newest `keep`. `path` is relative to the learner's path.

    Example:
        >>> learn.fit_one_cycle(10, 1e-2, callbacks=[Checkpoint(every_epochs=1, keep=2)])
        >>> learn.fit_one_cycle(10, 1e-2, resume="checkpoints/")    # after a crash
    """

    order = 70   # after the Recorder, the trackers and SaveBestModel have seen the epoch
    run_during_lr_find = False

    def __init__(self, every_epochs: int | None = 1, every_minutes: float | None = None,
                 keep: int = 2, path: str | Path = "checkpoints") -> None:
        if every_epochs is not None:
            check_positive_int(every_epochs, "every_epochs", "Use None to save by time only.")
        if every_minutes is not None:
            check_positive_number(every_minutes, "every_minutes")
        self.every_epochs, self.every_minutes = every_epochs, every_minutes
        self.keep = check_positive_int(keep, "keep")
        self.path = Path(path)
        self.written: list[Path] = []

    @property
    def folder(self) -> Path:
        """Where the checkpoints go: `path`, under the learner's path unless absolute."""
        return self.path if self.path.is_absolute() else Path(self.learn.path) / self.path

    def before_fit(self) -> None:
        """Start the clock of `every_minutes`."""
        self._last = time.monotonic()

    def after_batch(self) -> None:
        """Mid-epoch: save when `every_minutes` have passed."""
        if self.every_minutes is None or not self.learn.training:
            return
        if time.monotonic() - self._last >= self.every_minutes * 60:
            self._save(at_epoch_end=False)

    def after_epoch(self) -> None:
        """Save every `every_epochs` epochs."""
        if self.every_epochs is not None and (self.learn.epoch + 1) % self.every_epochs == 0:
            self._save(at_epoch_end=True)

    def _save(self, at_epoch_end: bool) -> None:
        self.written.append(write_training_checkpoint(self.learn, self.folder, self.keep,
                                                      at_epoch_end))
        self._last = time.monotonic()
