"""Metrics computed over a whole dataset, not averaged per batch where that would be wrong.

A metric accumulates sufficient statistics batch by batch (`reset`, `update`, `value`), so RMSE, F1,
R2 and perplexity are exact over the validation set, and only ROC AUC keeps the scores themselves.
Each metric is also callable on one batch: `accuracy(preds, targets)`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from briskml.checks import check_one_of, check_positive_int
from briskml.errors import ConfigError, DataError


class Metric:
    """Base class: accumulate statistics with `update`, read the result with `value`."""

    name: str = "metric"
    lower_is_better: bool = False

    def reset(self) -> None:
        """Forget everything accumulated."""
        raise NotImplementedError

    def update(self, preds: Tensor, targets: Tensor) -> None:
        """Add one batch of raw model outputs and targets."""
        raise NotImplementedError

    @property
    def value(self) -> float:
        """The metric over everything accumulated since `reset`."""
        raise NotImplementedError

    def __call__(self, preds: Tensor, targets: Tensor) -> float:
        """The metric on a single batch (does not disturb any accumulation in progress)."""
        fresh = copy.deepcopy(self)
        fresh.reset()
        fresh.update(preds, targets)
        return fresh.value

    def __repr__(self) -> str:
        return f"<metric {self.name}>"


class _SumMetric(Metric):
    """A metric that is a function of running sums (float64, on the CPU)."""

    num_sums = 2

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums = torch.zeros(self.num_sums, dtype=torch.float64)

    def update(self, preds: Tensor, targets: Tensor) -> None:
        self.sums += self.batch_sums(preds.detach(), targets.detach())

    def batch_sums(self, preds: Tensor, targets: Tensor) -> Tensor:
        """Statistics of one batch, to be summed over the dataset."""
        raise NotImplementedError


def _sums(*values: Tensor | float) -> Tensor:
    """Stack per-batch statistics as float64 on the CPU, wherever the batch lives."""
    return torch.tensor([float(v) for v in values], dtype=torch.float64)


def _class_predictions(preds: Tensor, targets: Tensor) -> Tensor:
    """Predicted class per target: argmax over the class dimension, or logit > 0 for one output."""
    if preds.dim() == targets.dim() + 1 and preds.shape[-1] > 1:
        return preds.argmax(dim=-1)
    return (preds.reshape(targets.shape) > 0).long()


def _flat_pair(preds: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    if preds.numel() != targets.numel():
        raise DataError(
            f"A regression metric got {preds.numel()} predictions for {targets.numel()} targets "
            f"(shapes {tuple(preds.shape)} and {tuple(targets.shape)})."
        )
    return preds.reshape(-1).float(), targets.reshape(-1).float()


class Accuracy(_SumMetric):
    """Share of predictions whose class (argmax) equals the target."""

    name = "accuracy"

    def batch_sums(self, preds: Tensor, targets: Tensor) -> Tensor:
        correct = (_class_predictions(preds, targets) == targets).sum()
        return _sums(correct, targets.numel())

    @property
    def value(self) -> float:
        return (self.sums[0] / self.sums[1]).item() if self.sums[1] else math.nan


class ErrorRate(Accuracy):
    """1 - accuracy."""

    name = "error_rate"
    lower_is_better = True

    @property
    def value(self) -> float:
        return 1.0 - super().value


class TopKAccuracy(Accuracy):
    """Share of targets among the k highest-scoring classes."""

    def __init__(self, k: int = 5) -> None:
        self.k = check_positive_int(k, "k")
        self.name = f"top_{k}_accuracy"
        super().__init__()

    def batch_sums(self, preds: Tensor, targets: Tensor) -> Tensor:
        k = min(self.k, preds.shape[-1])
        top = preds.topk(k, dim=-1).indices
        hits = (top == targets.unsqueeze(-1)).any(dim=-1).sum()
        return _sums(hits, targets.numel())


class MeanSquaredError(_SumMetric):
    """Mean of squared errors."""

    name = "mse"
    lower_is_better = True

    def batch_sums(self, preds: Tensor, targets: Tensor) -> Tensor:
        preds, targets = _flat_pair(preds, targets)
        squared = (preds.double() - targets.double()).pow(2).sum()
        return _sums(squared, targets.numel())

    @property
    def value(self) -> float:
        return (self.sums[0] / self.sums[1]).item() if self.sums[1] else math.nan


class RootMeanSquaredError(MeanSquaredError):
    """Square root of the mean squared error over the whole dataset."""

    name = "rmse"

    @property
    def value(self) -> float:
        return math.sqrt(super().value)


class MeanAbsoluteError(MeanSquaredError):
    """Mean of absolute errors."""

    name = "mae"

    def batch_sums(self, preds: Tensor, targets: Tensor) -> Tensor:
        preds, targets = _flat_pair(preds, targets)
        absolute = (preds.double() - targets.double()).abs().sum()
        return _sums(absolute, targets.numel())


class R2Score(_SumMetric):
    """Coefficient of determination, 1 - SSE/SST, over the whole dataset."""

    name = "r2"
    num_sums = 4

    def batch_sums(self, preds: Tensor, targets: Tensor) -> Tensor:
        preds, targets = _flat_pair(preds, targets)
        preds, targets = preds.double(), targets.double()
        return _sums((preds - targets).pow(2).sum(), targets.sum(), targets.pow(2).sum(),
                     targets.numel())

    @property
    def value(self) -> float:
        squared_error, total, total_squares, count = self.sums.tolist()
        if count == 0:
            return math.nan
        variance_sum = total_squares - total * total / count
        return 1.0 - squared_error / variance_sum if variance_sum > 0 else math.nan


class Perplexity(_SumMetric):
    """exp of the mean cross-entropy per target (token), for language models."""

    name = "perplexity"
    lower_is_better = True

    def batch_sums(self, preds: Tensor, targets: Tensor) -> Tensor:
        loss = F.cross_entropy(preds.reshape(-1, preds.shape[-1]).float(), targets.reshape(-1),
                               reduction="sum")
        return _sums(loss, targets.numel())

    @property
    def value(self) -> float:
        return math.exp(self.sums[0] / self.sums[1]) if self.sums[1] else math.nan


class F1Score(Metric):
    """F1 from the confusion counts of the whole dataset.

    average="binary" scores class `pos_label`; "macro" averages per-class F1; "micro" pools counts;
    "auto" (default) is binary for two classes and macro otherwise.
    """

    name = "f1"
    _AVERAGES = ("auto", "binary", "macro", "micro")

    def __init__(self, average: str = "auto", pos_label: int = 1) -> None:
        self.average = check_one_of(average, self._AVERAGES, "average")
        self.pos_label = pos_label
        self.reset()

    def reset(self) -> None:
        self.confusion: Tensor | None = None  # (num_classes, num_classes): rows target, cols pred

    def update(self, preds: Tensor, targets: Tensor) -> None:
        preds, targets = preds.detach(), targets.detach()
        num_classes = preds.shape[-1] if preds.dim() == targets.dim() + 1 else 2
        predicted = _class_predictions(preds, targets).reshape(-1).cpu()
        flat_index = targets.reshape(-1).long().cpu() * num_classes + predicted
        counts = torch.bincount(flat_index, minlength=num_classes**2).reshape(num_classes, -1)
        self.confusion = counts if self.confusion is None else self.confusion + counts

    @property
    def value(self) -> float:
        if self.confusion is None:
            return math.nan
        counts = self.confusion.double()
        true_pos = counts.diag()
        pred_total, target_total = counts.sum(0), counts.sum(1)
        average = self.average
        if average == "auto":
            average = "binary" if counts.shape[0] == 2 else "macro"
        if average == "micro":
            return (2 * true_pos.sum() / (pred_total.sum() + target_total.sum())).item()
        per_class = 2 * true_pos / (pred_total + target_total).clamp(min=1)
        if average == "binary":
            return per_class[self.pos_label].item()
        return per_class.mean().item()


class RocAuc(Metric):
    """Area under the ROC curve (binary; one-vs-rest macro average for several classes)."""

    name = "roc_auc"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.scores: list[Tensor] = []
        self.targets: list[Tensor] = []

    def update(self, preds: Tensor, targets: Tensor) -> None:
        preds = preds.detach().float().cpu()
        if preds.dim() == targets.dim() + 1 and preds.shape[-1] > 1:
            preds = preds.softmax(dim=-1)
        self.scores.append(preds.reshape(len(targets), -1))
        self.targets.append(targets.detach().reshape(-1).long().cpu())

    @property
    def value(self) -> float:
        if not self.scores:
            return math.nan
        scores, targets = torch.cat(self.scores), torch.cat(self.targets)
        if scores.shape[1] <= 2:
            return _binary_auc(scores[:, -1], targets == 1)
        per_class = [_binary_auc(scores[:, c], targets == c) for c in range(scores.shape[1])]
        present = [auc for auc in per_class if not math.isnan(auc)]
        return sum(present) / len(present) if present else math.nan


def _binary_auc(scores: Tensor, is_positive: Tensor) -> float:
    """Mann-Whitney U statistic with average ranks for ties, divided by (#pos * #neg)."""
    num_pos = int(is_positive.sum())
    num_neg = len(is_positive) - num_pos
    if num_pos == 0 or num_neg == 0:
        return math.nan
    ranks = _average_ranks(scores.double())
    return ((ranks[is_positive].sum() - num_pos * (num_pos + 1) / 2) / (num_pos * num_neg)).item()


def _average_ranks(values: Tensor) -> Tensor:
    """1-based ranks, ties sharing the mean of the ranks they span."""
    sorted_values, order = values.sort()
    _, inverse, counts = torch.unique_consecutive(sorted_values, return_inverse=True,
                                                  return_counts=True)
    ends = counts.cumsum(0).double()
    mean_rank = ends - (counts.double() - 1) / 2
    ranks = torch.empty_like(values)
    ranks[order] = mean_rank[inverse]
    return ranks


class AvgMetric(Metric):
    """Wrap a plain function `f(preds, targets) -> number` as the batch-size-weighted mean."""

    def __init__(self, func: Callable[[Tensor, Tensor], Any], name: str | None = None) -> None:
        self.func = func
        self.name = name or getattr(func, "__name__", "metric")
        self.lower_is_better = any(word in self.name for word in ("loss", "error"))
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, preds: Tensor, targets: Tensor) -> None:
        value = self.func(preds, targets)
        size = len(targets)
        self.total += float(value) * size
        self.count += size

    @property
    def value(self) -> float:
        return self.total / self.count if self.count else math.nan


def as_metrics(metrics: Metric | Callable | Sequence[Metric | Callable] | None) -> list[Metric]:
    """Private copies of the given metrics (functions become batch-weighted averages)."""
    if metrics is None:
        return []
    if isinstance(metrics, Metric) or callable(metrics):
        metrics = [metrics]
    result: list[Metric] = []
    for metric in metrics:
        if isinstance(metric, Metric):
            result.append(copy.deepcopy(metric))
        elif callable(metric):
            result.append(AvgMetric(metric))
        else:
            raise ConfigError(f"A metric must be a Metric or a function(preds, targets); "
                              f"got {metric!r}.")
        result[-1].reset()
    names = [metric.name for metric in result]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"Metric names must be unique; {duplicates} appear more than once.")
    return result


accuracy = Accuracy()
error_rate = ErrorRate()
top_k_accuracy = TopKAccuracy(k=5)
mse = MeanSquaredError()
rmse = RootMeanSquaredError()
mae = MeanAbsoluteError()
r2 = R2Score()
f1 = F1Score()
roc_auc = RocAuc()
perplexity = Perplexity()
