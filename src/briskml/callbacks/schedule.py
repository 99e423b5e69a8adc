"""The callback that applies schedules: it evaluates them and writes the optimizer's groups."""

from __future__ import annotations

from collections.abc import Sequence

from briskml.callbacks.core import Callback
from briskml.optim import set_learning_rates, set_momentum
from briskml.schedules import Schedule


class ParamScheduler(Callback):
    """Before each training batch, set each layer group's lr (and momentum) from its schedule."""

    order = -5

    def __init__(self, lr: Sequence[Schedule], mom: Sequence[Schedule] | None = None) -> None:
        self.lr_schedules = list(lr)
        self.mom_schedules = list(mom) if mom is not None else None

    def before_batch(self) -> None:
        """Evaluate the schedules at the current training progress."""
        learn = self.learn
        if not learn.training:
            return
        position = learn.pct_train
        set_learning_rates(learn.opt, [schedule(position) for schedule in self.lr_schedules])
        if self.mom_schedules is not None:
            set_momentum(learn.opt, [schedule(position) for schedule in self.mom_schedules])
