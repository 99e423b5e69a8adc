"""The event system: a Callback implements any of the training events and may cancel a stage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from briskml.learner import Learner

EVENTS = (
    "before_fit", "before_epoch", "before_train", "before_batch", "after_pred", "after_loss",
    "after_backward", "after_step", "after_batch", "after_train", "before_validate",
    "after_validate", "after_epoch", "after_fit",
)


class CancelBatch(Exception):  # noqa: N818 -- the lessons' names for flow control, not errors
    """Raise in a batch event to skip the rest of this batch (after_batch still runs)."""


class CancelEpoch(Exception):  # noqa: N818
    """Raise in an epoch event to skip the rest of this epoch (after_epoch still runs)."""


class CancelFit(Exception):  # noqa: N818
    """Raise anywhere during fit to stop training (after_fit still runs)."""


class Callback:
    """Base class: override any event; reach the learner (model, opt, loss...) as `self.learn`.

    Callbacks run in ascending `order`. `run_during_lr_find = False` keeps a callback (reporting,
    checkpoints) out of `lr_find`'s sweep.

    Example:
        >>> class PrintLoss(Callback):
        ...     def after_batch(self) -> None:
        ...         if self.learn.training:
        ...             print(self.learn.loss.item())
    """

    order: int = 0
    run_during_lr_find: bool = True
    learn: Learner

    def before_fit(self) -> None:
        """Once, before the first epoch."""

    def before_epoch(self) -> None:
        """At the start of each epoch."""

    def before_train(self) -> None:
        """Before the training batches of an epoch (the model is in train mode)."""

    def before_batch(self) -> None:
        """After `learn.inputs` and `learn.targets` are set, before the forward pass."""

    def after_pred(self) -> None:
        """After the forward pass: `learn.preds` may be changed here."""

    def after_loss(self) -> None:
        """After the loss is computed: `learn.loss` (and `learn.loss_grad`) may be changed here."""

    def after_backward(self) -> None:
        """After gradients are computed, before weight decay and the optimizer step."""

    def after_step(self) -> None:
        """After the optimizer step."""

    def after_batch(self) -> None:
        """At the end of every batch, training or validation (also after CancelBatch)."""

    def after_train(self) -> None:
        """After the training batches of an epoch."""

    def before_validate(self) -> None:
        """Before a validation pass (in fit, or from validate / get_preds)."""

    def after_validate(self) -> None:
        """After a validation pass: `learn.valid_results` holds its loss and metrics."""

    def after_epoch(self) -> None:
        """At the end of each epoch (also after CancelEpoch)."""

    def after_fit(self) -> None:
        """Once at the end of fit, always: also after CancelFit and when an error stops training."""

    def state_dict(self) -> dict[str, Any]:
        """What this callback keeps between epochs, for a training checkpoint: JSON-able values
        and tensors (empty when it keeps nothing)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what `state_dict` returned (called on resume, after `before_fit`)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
