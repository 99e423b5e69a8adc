"""`Checkpoint`: write the whole training state every few epochs or minutes, so that a run that
dies (kill -9, out of memory, a preempted machine) goes on with `fit(..., resume=folder)`; and
stop cleanly on Ctrl-C or SIGTERM, with a checkpoint of the last finished batch."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from briskml.callbacks.core import Callback
from briskml.checks import check_positive_int, check_positive_number
from briskml.errors import TrainingInterrupted
from briskml.resume import data_fingerprint, write_training_checkpoint

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Checkpoint(Callback):
    """Save a training checkpoint (briskml.resume) every `every_epochs` epochs and, with
    `every_minutes`, also mid-epoch once that many minutes have passed since the last one;
    keep the newest `keep`. `path` is relative to the learner's path.

    While fit runs (in the main thread), Ctrl-C or SIGTERM lets the current batch finish (or
    the validation, when it arrives there), writes a checkpoint, prints how to resume and raises
    `TrainingInterrupted` (a KeyboardInterrupt); a second Ctrl-C stops at once. Every write is
    atomic, so no checkpoint is ever left half-written.

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
        """Start the clock of `every_minutes`; catch Ctrl-C and SIGTERM until fit ends."""
        self._last = time.monotonic()
        self._fingerprint = data_fingerprint(self.learn.data)   # once: the data does not change
        self._stop_signal: int | None = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for number in _STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._on_signal)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        if self._stop_signal is not None:   # the second: stop now (writes are atomic)
            self._restore_signals()
            raise KeyboardInterrupt
        self._stop_signal = number
        print(f"{signal.Signals(number).name}: stopping after this batch to write a checkpoint "
              "(press Ctrl-C again to stop at once).", file=sys.stderr, flush=True)

    def after_batch(self) -> None:
        """Mid-epoch: save when `every_minutes` have passed, or stop when asked to."""
        if not self.learn.training:
            return
        if self._stop_signal is not None:
            self._stop(at_epoch_end=False)
        if self.every_minutes is not None and \
                time.monotonic() - self._last >= self.every_minutes * 60:
            self._save(at_epoch_end=False)

    def after_epoch(self) -> None:
        """Save every `every_epochs` epochs (and stop, when asked to during validation)."""
        if self._stop_signal is not None:
            self._stop(at_epoch_end=True)
        if self.every_epochs is not None and (self.learn.epoch + 1) % self.every_epochs == 0:
            self._save(at_epoch_end=True)

    def after_fit(self) -> None:
        """Give Ctrl-C and SIGTERM back to whoever had them."""
        self._restore_signals()

    def _save(self, at_epoch_end: bool) -> Path:
        path = write_training_checkpoint(self.learn, self.folder, self.keep, at_epoch_end,
                                         self._fingerprint)
        self.written.append(path)
        self._last = time.monotonic()
        return path

    def _stop(self, at_epoch_end: bool) -> None:
        path = self._save(at_epoch_end)
        self._restore_signals()
        name = signal.Signals(self._stop_signal).name
        message = (f"{name}: training stopped at epoch {self.learn.epoch}, batch "
                   f"{self.learn.batch_index}; checkpoint '{path}'. To go on, make the same "
                   f"call again with resume='{self.folder}' (briskml commands: --resume).")
        print(message, file=sys.stderr, flush=True)
        raise TrainingInterrupted(message)

    def _restore_signals(self) -> None:
        for number, handler in getattr(self, "_previous", {}).items():
            signal.signal(number, handler)
        self._previous = {}
