"""A training run for the kill-and-resume tests: `python -m tests.resume_child KIND FOLDER`
trains a tiny learner of KIND with a checkpoint after every batch, slowly enough to be killed
mid-epoch; the test builds the same learner in its own process to resume and compare."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import briskml as bm
from briskml.callbacks import Callback

EPOCHS = 3


class Slow(Callback):
    """Gives the test time to send its signal between batches."""

    def after_batch(self) -> None:
        if self.learn.training:
            print(f"batch {self.learn.train_iter}", flush=True)
            time.sleep(0.05)


def build(kind: str, path: Path):
    """The tiny learner of `kind`, the same in every process."""
    from tests.test_resume import _collab_learner, _learner, _lm_learner

    if kind == "tabular":
        return _learner(path)
    return {"collab": _collab_learner, "language_model": _lm_learner}[kind](path)


def train(learn, **options) -> None:
    """The one call every process makes."""
    learn.fit_one_cycle(EPOCHS, 1e-2, **options)


if __name__ == "__main__":
    kind, folder = sys.argv[1], Path(sys.argv[2])
    learner = build(kind, folder)
    train(learner, callbacks=[bm.Checkpoint(every_epochs=1, every_minutes=1e-9, keep=3),
                              Slow()])
