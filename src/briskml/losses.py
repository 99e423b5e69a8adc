"""Loss functions that flatten their inputs, and the names exported files use for them."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from briskml.errors import DataError

LossFunc = Callable[[Tensor, Tensor], Tensor]


def cross_entropy_flat(preds: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy over any leading dimensions: (..., classes) logits against (...) class ids."""
    return F.cross_entropy(preds.reshape(-1, preds.shape[-1]), targets.reshape(-1))


def mse_flat(preds: Tensor, targets: Tensor) -> Tensor:
    """Mean squared error, with (n, 1) predictions matched to (n,) targets without broadcasting."""
    return F.mse_loss(_match(preds, targets), targets.to(preds.dtype).reshape(-1))


def bce_with_logits_flat(preds: Tensor, targets: Tensor) -> Tensor:
    """Binary cross-entropy on logits (multi-label), targets as 0/1 of the same size."""
    return F.binary_cross_entropy_with_logits(_match(preds, targets),
                                              targets.to(preds.dtype).reshape(-1))


def _match(preds: Tensor, targets: Tensor) -> Tensor:
    if preds.numel() != targets.numel():
        raise DataError(
            f"The model gives {tuple(preds.shape)} outputs for targets of shape "
            f"{tuple(targets.shape)}; their sizes must match (check the model's output size)."
        )
    return preds.reshape(-1)


# name -> (loss function, activation turning outputs into predictions)
LOSSES: dict[str, tuple[LossFunc, Callable[[Tensor], Tensor] | None]] = {
    "cross_entropy": (cross_entropy_flat, lambda output: output.softmax(dim=-1)),
    "mse": (mse_flat, None),
    "bce_with_logits": (bce_with_logits_flat, lambda output: output.sigmoid()),
}
_TORCH_EQUIVALENTS: dict[object, str] = {
    F.cross_entropy: "cross_entropy", F.mse_loss: "mse",
    F.binary_cross_entropy_with_logits: "bce_with_logits",
}
_TORCH_MODULES: dict[type, str] = {
    nn.CrossEntropyLoss: "cross_entropy",
    nn.MSELoss: "mse",
    nn.BCEWithLogitsLoss: "bce_with_logits",
}


def loss_name(loss_func: LossFunc | None) -> str | None:
    """The registered name of a loss (ours or torch's plain equivalent), or None if unknown."""
    for name, (func, _) in LOSSES.items():
        if loss_func is func:
            return name
    if loss_func in _TORCH_EQUIVALENTS:
        return _TORCH_EQUIVALENTS[loss_func]
    return _TORCH_MODULES.get(type(loss_func))


def default_loss(targets: Tensor) -> LossFunc:
    """Cross-entropy for integer (class) targets, mean squared error for float targets."""
    if targets.is_floating_point():
        return mse_flat
    return cross_entropy_flat


def loss_from_name(name: str | None, default: LossFunc | None = None) -> LossFunc | None:
    """The loss function an exported file names (`default` when it names none we know)."""
    return LOSSES[name][0] if name in LOSSES else default


def activation_for(loss_func: LossFunc | None) -> Callable[[Tensor], Tensor] | None:
    """The activation that turns raw outputs into predictions for this loss (softmax, sigmoid)."""
    name = loss_name(loss_func)
    return LOSSES[name][1] if name else None


def loss_per_item(loss_func: LossFunc, preds: Tensor, targets: Tensor) -> Tensor:
    """The loss of each item (row, or token for a language model): (items,) float32.

    Known losses are computed without reduction in one call (multi-label BCE is averaged over each
    row's labels); any other loss function is called once per item.
    """
    name = loss_name(loss_func)
    if name == "cross_entropy":
        return F.cross_entropy(preds.reshape(-1, preds.shape[-1]).float(), targets.reshape(-1),
                               reduction="none")
    if name in ("mse", "bce_with_logits"):
        rows = len(targets)
        values = targets.to(preds.dtype).reshape(rows, -1).float()
        outputs = preds.reshape(rows, -1).float()
        function = F.mse_loss if name == "mse" else F.binary_cross_entropy_with_logits
        return function(outputs, values, reduction="none").mean(dim=1)
    return torch.stack([loss_func(preds[i:i + 1], targets[i:i + 1]).float().reshape(())
                        for i in range(len(targets))]) if len(targets) else torch.zeros(0)
