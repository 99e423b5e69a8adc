"""Torch optimizers built from layer groups: per-group learning rates, momentum, and weight decay.

Each layer group is one torch parameter group. Our own keys in each group: `wd` and `wd_mode` (the
decay `apply_weight_decay` applies before each step), `uses_momentum`, `default_momentum` and
`tie_dampening` (SGD's dampening follows its momentum, as the lessons' formula has it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from briskml.checks import check_one_of
from briskml.errors import ConfigError

OptimizerFactory = Callable[[list[dict[str, Any]]], torch.optim.Optimizer]
LearningRate = float | slice | Sequence[float]
WD_MODES = ("decoupled", "l2")

# Normalisation layers whose weights are not decayed by default: torch's public classes (their
# common base, _NormBase, is private).
_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm,
               nn.LazyBatchNorm1d, nn.LazyBatchNorm2d, nn.LazyBatchNorm3d,
               nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d,
               nn.LazyInstanceNorm1d, nn.LazyInstanceNorm2d, nn.LazyInstanceNorm3d,
               nn.LayerNorm, nn.GroupNorm, nn.RMSNorm, nn.LocalResponseNorm)


def sgd(param_groups: list[dict[str, Any]], momentum: float = 0.9) -> torch.optim.Optimizer:
    """SGD with momentum as the lessons write it: v = m*v + (1-m)*g, then w -= lr*v.

    PyTorch starts the momentum buffer at the first gradient rather than at zero; after that the
    update is exactly the lessons' exponentially weighted average.
    """
    optimizer = _fused_if_possible(torch.optim.SGD, param_groups, momentum=momentum,
                                   dampening=momentum)
    for group in optimizer.param_groups:
        group["tie_dampening"] = True
    return optimizer


def rmsprop(param_groups: list[dict[str, Any]], alpha: float = 0.99, eps: float = 1e-8,
            momentum: float = 0.0) -> torch.optim.Optimizer:
    """RMSProp: divide each step by a moving root mean square of the gradients."""
    return torch.optim.RMSprop(param_groups, lr=1e-3, alpha=alpha, eps=eps, momentum=momentum)


def adam(param_groups: list[dict[str, Any]], betas: tuple[float, float] = (0.9, 0.99),
         eps: float = 1e-5) -> torch.optim.Optimizer:
    """Adam with the fastai defaults (beta2 0.99, eps 1e-5); decay is applied separately."""
    return _fused_if_possible(torch.optim.Adam, param_groups, betas=betas, eps=eps)


def _fused_if_possible(optimizer_class: type[torch.optim.Optimizer],
                       param_groups: list[dict[str, Any]], **options: Any) -> torch.optim.Optimizer:
    """The fused implementation where torch has one for these parameters, else the default.

    Fused kernels update every tensor of a group in one pass; for small models on a CPU this is
    about a quarter faster per step than the per-tensor loop (bench/engine_overhead.py).
    """
    try:
        return optimizer_class(param_groups, lr=1e-3, fused=True, **options)
    except (RuntimeError, ValueError, TypeError):
        return optimizer_class(param_groups, lr=1e-3, **options)


OPTIMIZERS: dict[str, OptimizerFactory] = {"sgd": sgd, "rmsprop": rmsprop, "adam": adam}


def resolve_opt_func(opt_func: str | OptimizerFactory) -> OptimizerFactory:
    """Turn "sgd" / "rmsprop" / "adam" or a callable taking parameter groups into a factory."""
    if callable(opt_func):
        return opt_func
    if isinstance(opt_func, str) and opt_func.lower() in OPTIMIZERS:
        return OPTIMIZERS[opt_func.lower()]
    raise ConfigError(
        f"opt_func must be one of {sorted(OPTIMIZERS)} or a callable that takes parameter groups "
        f"(e.g. torch.optim.AdamW); got {opt_func!r}."
    )


def resolve_lrs(lr: LearningRate, num_groups: int) -> list[float]:
    """One learning rate per layer group from a float, a list, `slice(lo, hi)` or `slice(hi)`.

    Example:
        >>> resolve_lrs(slice(1e-4, 1e-2), 3)   # [1e-4, 1e-3, 1e-2]
        >>> resolve_lrs(slice(1e-2), 3)         # [1e-2/3, 1e-2/3, 1e-2]
    """
    if isinstance(lr, slice):
        lrs = _lrs_from_slice(lr, num_groups)
    elif isinstance(lr, (int, float)) and not isinstance(lr, bool):
        lrs = [float(lr)] * num_groups
    elif isinstance(lr, (Sequence, Tensor)) and not isinstance(lr, str):
        lrs = [float(value) for value in lr]
        if len(lrs) != num_groups:
            raise ConfigError(
                f"Got {len(lrs)} learning rates for {num_groups} layer groups; give one per group, "
                "a single float, or a slice."
            )
    else:
        raise ConfigError(f"lr must be a float, a slice or a list of floats; got {lr!r}.")
    if not all(math.isfinite(value) and value > 0 for value in lrs):
        raise ConfigError(f"Learning rates must be positive and finite; got {lrs}.")
    return lrs


def _lrs_from_slice(lr: slice, num_groups: int) -> list[float]:
    if lr.step is not None or lr.stop is None:
        raise ConfigError(f"Use slice(hi) or slice(lo, hi) for learning rates; got {lr!r}.")
    high = float(lr.stop)
    if lr.start is None:
        return [high / 3] * (num_groups - 1) + [high]
    low = float(lr.start)
    if num_groups == 1:
        return [high]
    if low <= 0:
        raise ConfigError(f"slice(lo, hi) needs lo > 0 for a geometric spread; got {lr!r}.")
    step = (high / low) ** (1 / (num_groups - 1))
    return [low * step**i for i in range(num_groups)]


def check_layer_groups(model: nn.Module, layer_groups: Sequence[Iterable[nn.Parameter]]
                       ) -> list[list[nn.Parameter]]:
    """Check a splitter's output: every parameter of the model in exactly one non-empty group."""
    groups = [list(group) for group in layer_groups]
    if not groups:
        raise ConfigError("The splitter returned no layer groups; return at least one list.")
    names = {id(p): name for name, p in model.named_parameters()}
    seen: set[int] = set()
    for index, group in enumerate(groups):
        if not group:
            raise ConfigError(f"Layer group {index} from the splitter is empty; drop it.")
        for param in group:
            if id(param) in seen:
                name = names.get(id(param), "?")
                raise ConfigError(f"Parameter '{name}' is in two layer groups.")
            seen.add(id(param))
    missing = [name for pid, name in names.items() if pid not in seen]
    if missing:
        raise ConfigError(
            f"The splitter left {len(missing)} parameter(s) out of every layer group, e.g. "
            f"{missing[:3]}; they would never train. Put each parameter in one group."
        )
    return groups


def no_decay_parameter_ids(model: nn.Module) -> set[int]:
    """Ids of the biases and normalisation-layer weights, which are not decayed by default."""
    ids: set[int] = set()
    for module in model.modules():
        is_norm = isinstance(module, _NORM_TYPES)
        for name, param in module.named_parameters(recurse=False):
            if is_norm or name.startswith("bias"):
                ids.add(id(param))
    return ids


def decayed_parameters(layer_groups: list[list[nn.Parameter]], no_decay_ids: set[int]
                       ) -> list[list[nn.Parameter]]:
    """Per layer group, the parameters weight decay applies to."""
    return [[p for p in group if id(p) not in no_decay_ids] for group in layer_groups]


def build_optimizer(opt_func: str | OptimizerFactory, layer_groups: list[list[nn.Parameter]]
                    ) -> torch.optim.Optimizer:
    """Create the torch optimizer with one parameter group per layer group.

    One torch group per layer group (rather than separate groups for parameters without decay)
    halves the optimizer's per-group overhead; weight decay is applied by `apply_weight_decay`.
    """
    optimizer = resolve_opt_func(opt_func)([{"params": params} for params in layer_groups])
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"opt_func returned {type(optimizer).__name__}, not a torch optimizer.")
    if len(optimizer.param_groups) != len(layer_groups):
        raise ConfigError(f"opt_func must keep the {len(layer_groups)} parameter groups it is "
                          f"given; it made {len(optimizer.param_groups)}.")
    for group in optimizer.param_groups:
        group["uses_momentum"] = "betas" in group or group.get("momentum", 0.0) > 0
        group.setdefault("tie_dampening", False)
        group["default_momentum"] = group_momentum(group)
        group["weight_decay"] = 0.0  # torch's own decay stays off: ours knows what not to decay
        group["wd"], group["wd_mode"] = 0.0, "decoupled"
    return optimizer


def set_learning_rates(optimizer: torch.optim.Optimizer, lrs: Sequence[float]) -> None:
    """Write one learning rate per layer group."""
    for group, lr in zip(optimizer.param_groups, lrs, strict=True):
        group["lr"] = lr


def set_momentum(optimizer: torch.optim.Optimizer, values: Sequence[float]) -> None:
    """Write one momentum per layer group: SGD momentum, Adam's beta1, RMSProp's momentum if set."""
    for group, value in zip(optimizer.param_groups, values, strict=True):
        if group["uses_momentum"]:
            _write_momentum(group, value)


def reset_momentum(optimizer: torch.optim.Optimizer) -> None:
    """Put every group's momentum back to the value it was created with (schedules move it)."""
    for group in optimizer.param_groups:
        if group["uses_momentum"]:
            _write_momentum(group, group["default_momentum"])


def _write_momentum(group: dict[str, Any], value: float) -> None:
    if "betas" in group:
        group["betas"] = (value, group["betas"][1])
    else:
        group["momentum"] = value
        if group["tie_dampening"]:
            group["dampening"] = value


def group_momentum(group: dict[str, Any]) -> float | None:
    """The momentum of one torch parameter group (beta1 for Adam), or None if it has none."""
    if not group["uses_momentum"]:
        return None
    return group["betas"][0] if "betas" in group else group["momentum"]


def get_hyper(optimizer: torch.optim.Optimizer, name: str) -> list[float | None]:
    """One value per layer group of 'lr' or 'mom' (None where the optimizer has no momentum)."""
    if name == "lr":
        return [group["lr"] for group in optimizer.param_groups]
    return [group_momentum(group) for group in optimizer.param_groups]


def set_weight_decay(optimizer: torch.optim.Optimizer, wd: float, wd_mode: str) -> None:
    """Choose decoupled ("true": w -= lr*wd*w) or L2 (g += wd*w) weight decay for the next fit."""
    check_one_of(wd_mode, WD_MODES, "wd_mode")
    if not isinstance(wd, (int, float)) or not math.isfinite(wd) or wd < 0:
        raise ConfigError(f"wd must be a non-negative number; got {wd!r}.")
    for group in optimizer.param_groups:
        group["wd"], group["wd_mode"] = float(wd), wd_mode


def apply_weight_decay(optimizer: torch.optim.Optimizer,
                       decayed: Sequence[Sequence[nn.Parameter]]) -> None:
    """Before the step: shrink the weights (decoupled) or add wd*w to their gradients (L2).

    Only parameters in `decayed` that received a dense gradient are touched, so frozen layers,
    biases and normalisation weights (unless asked for) are left alone. A sparse gradient (an
    embedding built with sparse=True) names the rows a batch used; decaying the whole table for it
    would cost a pass over every row, so those are left to the optimizer (collab's LazyAdam decays
    the rows it updates).
    """
    for group, params in zip(optimizer.param_groups, decayed, strict=True):
        wd = group["wd"]
        if not wd:
            continue
        with_grad = [p for p in params if p.grad is not None and not p.grad.is_sparse]
        if not with_grad:
            continue
        # Public in-place ops, one per parameter: torch's private fused _foreach_ form measured
        # no faster on the tabular benchmark (bench/README.md, "Speed tweaks").
        with torch.no_grad():
            if group["wd_mode"] == "decoupled":
                shrink = 1 - group["lr"] * wd
                for param in with_grad:
                    param.mul_(shrink)
            else:
                for param in with_grad:
                    param.grad.add_(param, alpha=wd)
