"""The training recipes built on `Learner.fit`: one cycle, slanted triangular rates, and
fastai's `fine_tune`. Each opens `_fit_call`, so `resume=` continues it where it stopped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from briskml.callbacks import Callback, ParamScheduler
from briskml.checks import check_positive_int, check_positive_number
from briskml.optim import LearningRate, resolve_lrs
from briskml.schedules import one_cycle_lr, one_cycle_momentum, slanted_triangular


class FitRecipes:
    """`fit_one_cycle`, `fit_stlr` and `fine_tune` (the Learner inherits them)."""

    default_moms: ClassVar[tuple[float, ...]]
    layer_groups: list[Any]

    def fit_one_cycle(self, n_epoch: int, lr_max: LearningRate = 1e-3, div: float = 25.0,
                      div_final: float = 1e5, pct_start: float = 0.25,
                      moms: Sequence[float] | None = None, wd: float | None = None,
                      callbacks: Sequence[Callback] = (), resume: str | Path | None = None
                      ) -> None:
        """Train with the 1cycle policy: lr up then down (cosine), momentum the other way.

        `moms` defaults to the learner's `default_moms`: (0.95, 0.85, 0.95), or ULMFiT's
        (0.8, 0.7, 0.8) for text learners.

        Example:
            >>> learn.fit_one_cycle(5, 1e-2)
            >>> learn.fit_one_cycle(1, slice(1e-4, 1e-2), moms=(0.8, 0.7))
        """
        with self._fit_call("fit_one_cycle", resume):
            lrs = resolve_lrs(lr_max, len(self.layer_groups))
            momentum = one_cycle_momentum(self.default_moms if moms is None else moms, pct_start)
            scheduler = ParamScheduler(
                lr=[one_cycle_lr(value, div, div_final, pct_start) for value in lrs],
                mom=[momentum] * len(lrs),
            )
            self.fit(n_epoch, lr=lrs, wd=wd, callbacks=[scheduler, *callbacks])

    def fit_stlr(self, n_epoch: int, lr_max: LearningRate, cut_frac: float = 0.1,
                 ratio: float = 32.0, wd: float | None = None,
                 callbacks: Sequence[Callback] = (), resume: str | Path | None = None) -> None:
        """Train with ULMFiT's slanted triangular learning rates (short linear rise, long decay)."""
        with self._fit_call("fit_stlr", resume):
            lrs = resolve_lrs(lr_max, len(self.layer_groups))
            scheduler = ParamScheduler(lr=[slanted_triangular(value, cut_frac, ratio)
                                           for value in lrs])
            self.fit(n_epoch, lr=lrs, wd=wd, callbacks=[scheduler, *callbacks])

    def fine_tune(self, epochs: int, base_lr: float = 2e-3, freeze_epochs: int = 1,
                  lr_mult: float = 100, pct_start: float = 0.3, div: float = 5.0,
                  moms: Sequence[float] | None = None, wd: float | None = None,
                  callbacks: Sequence[Callback] = (), resume: str | Path | None = None) -> None:
        """fastai's transfer-learning recipe: `freeze_epochs` of one-cycle training on the last
        layer group alone (lr `base_lr`, pct_start 0.99), then halve `base_lr`, unfreeze, and
        train every group for `epochs` over `slice(base_lr / lr_mult, base_lr)`.

        Example:
            >>> learn.fine_tune(4, base_lr=1e-2)
        """
        check_positive_int(epochs, "epochs")
        check_positive_number(base_lr, "base_lr")
        check_positive_number(lr_mult, "lr_mult")
        options = {"moms": moms, "wd": wd, "callbacks": callbacks}
        with self._fit_call("fine_tune", resume):
            if freeze_epochs:
                check_positive_int(freeze_epochs, "freeze_epochs",
                                   "Use 0 to skip the frozen stage.")
                self.freeze()
                self.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99, **options)
            base_lr /= 2
            self.unfreeze()
            self.fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start=pct_start,
                               div=div, **options)
