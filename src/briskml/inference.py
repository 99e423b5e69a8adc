"""Running a model for predictions: one inference context, one chunked loop, the pieces that
assemble `get_preds` results (padding ragged batches, flattening sequence outputs, reordering),
and the Learner's validation and prediction methods (`LearnerPredictions`).

Example:
    >>> with inference(model):
    ...     logits = model(x)
    >>> outputs = predict_in_chunks(model, (cats, conts), device, chunk_rows=65_536)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from briskml.callbacks import CancelBatch
from briskml.checks import check_one_of, check_positive_int
from briskml.errors import ConfigError, DataError, warn
from briskml.losses import LossFunc, activation_for, loss_name, loss_per_item
from briskml.registry import model_spec

PREDICT_CHUNK_ROWS = 65_536   # rows per forward pass: bounded memory, few calls


@contextlib.contextmanager
def inference(model: nn.Module) -> Iterator[None]:
    """Eval mode and no gradients for the block; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def predict_in_chunks(model: nn.Module, inputs: Sequence[Tensor], device: torch.device,
                      chunk_rows: int = PREDICT_CHUNK_ROWS) -> Tensor:
    """The model's float32 outputs on the CPU for whole input tensors, `chunk_rows` rows at a
    time, in eval mode without gradients."""
    check_positive_int(chunk_rows, "chunk_rows")
    num_rows = len(inputs[0]) if inputs else 0
    outputs = []
    with inference(model):
        for start in range(0, num_rows, chunk_rows):
            chunk = [t[start:start + chunk_rows].to(device) for t in inputs]
            outputs.append(model(*chunk).float().cpu())
        if not outputs:   # no rows: one empty pass gives the output's shape
            outputs.append(model(*[t.to(device) for t in inputs]).float().cpu())
    result = torch.cat(outputs)
    warn_non_finite(result)
    return result


def warn_non_finite(outputs: Tensor) -> None:
    """A BriskWarning when some rows of `outputs` are NaN or infinite, so such a prediction is
    never returned silently."""
    if outputs.numel() == 0 or bool(torch.isfinite(outputs).all()):
        return
    bad = (~torch.isfinite(outputs.reshape(len(outputs), -1))).any(1).nonzero().flatten()
    shown = ", ".join(str(int(row)) for row in bad[:5]) + (" ..." if len(bad) > 5 else "")
    warn(f"{len(bad)} of {len(outputs)} predictions are NaN or infinite (rows {shown}): their "
         "inputs lie far outside what the model was trained on, or the model file was edited. "
         "They are returned as they are; check those rows.")


def concat_padded(tensors: Sequence[Tensor], pad_value: float = 0) -> Tensor:
    """Concatenate along dim 0; batches whose later dims differ (padded texts) are padded at the
    end of each dim to the largest size with `pad_value`."""
    if not tensors:
        return torch.empty(0)
    shapes = {tuple(t.shape[1:]) for t in tensors}
    if len(shapes) == 1:
        return torch.cat(list(tensors))
    target = [max(sizes) for sizes in zip(*shapes, strict=True)]
    padded = []
    for tensor in tensors:
        padding: list[int] = []
        for dim in reversed(range(1, tensor.dim())):
            padding += [0, target[dim - 1] - tensor.shape[dim]]
        padded.append(F.pad(tensor, padding, value=pad_value))
    return torch.cat(padded)


def is_sequence_output(preds: Tensor, targets: Tensor | None) -> bool:
    """Whether a batch predicts one item per position (a language model: (bs, seq, vocab) outputs
    for (bs, seq) targets) rather than one per row."""
    return targets is not None and targets.dim() >= 2 and preds.dim() == targets.dim() + 1


def flatten_items(preds: Tensor, targets: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """One row per predicted item: (bs, seq, vocab) -> (bs * seq, vocab) for sequence outputs,
    unchanged otherwise."""
    if not is_sequence_output(preds, targets):
        return preds, targets
    return preds.reshape(-1, preds.shape[-1]), targets.reshape(-1)


def original_order(serve_order: Tensor | None, num_items: int) -> Tensor | None:
    """Positions that put results served in `serve_order` back into the data's own order (None
    when the loader serves in order)."""
    if serve_order is None or len(serve_order) != num_items:
        return None
    return torch.argsort(torch.as_tensor(serve_order))


@dataclass
class KeptPredictions:
    """What `get_preds` collected: inputs (one tensor, or a tuple for several), raw predictions,
    targets and per-item losses (None where not asked for or not available)."""

    inputs: Tensor | tuple[Tensor, ...] | None
    preds: Tensor
    targets: Tensor | None
    losses: Tensor | None

    def reordered(self, order: Tensor | None) -> KeptPredictions:
        """The same results with items taken in `order` (unchanged when None)."""
        if order is None:
            return self
        inputs = self.inputs
        if isinstance(inputs, tuple):
            inputs = tuple(t[order] for t in inputs)
        elif inputs is not None:
            inputs = inputs[order]
        return KeptPredictions(inputs, self.preds[order],
                               None if self.targets is None else self.targets[order],
                               None if self.losses is None else self.losses[order])


class PredictionCollector:
    """Keeps each validation batch's predictions (and, when asked, inputs and per-item losses)
    on the CPU, one row per predicted item."""

    def __init__(self, keep_inputs: bool, keep_losses: bool) -> None:
        self.keep_inputs, self.keep_losses = keep_inputs, keep_losses
        self.inputs: list[tuple[Tensor, ...]] = []
        self.preds: list[Tensor] = []
        self.targets: list[Tensor] = []
        self.losses: list[Tensor] = []

    def add(self, inputs: tuple[Tensor, ...], preds: Tensor, targets: Tensor | None,
            loss_func: LossFunc | None) -> None:
        """Keep one batch (`loss_func` gives the per-item losses when they are kept)."""
        sequence = is_sequence_output(preds, targets)
        preds, flat_targets = flatten_items(preds.detach(), targets)
        self.preds.append(preds.float().cpu())
        if flat_targets is not None:
            self.targets.append(flat_targets.detach().cpu())
        if self.keep_inputs:
            self.inputs.append(tuple((t.reshape(-1) if sequence else t).detach().cpu()
                                     for t in inputs))
        if self.keep_losses and flat_targets is not None and loss_func is not None:
            self.losses.append(loss_per_item(loss_func, preds, flat_targets).cpu())

    def result(self, pad_value: float = 0) -> KeptPredictions:
        """Everything kept, concatenated (ragged batches padded with `pad_value`)."""
        inputs: Tensor | tuple[Tensor, ...] | None = None
        if self.keep_inputs and self.inputs:
            parts = tuple(concat_padded([batch[i] for batch in self.inputs], pad_value)
                          for i in range(len(self.inputs[0])))
            inputs = parts[0] if len(parts) == 1 else parts
        preds = torch.cat(self.preds) if self.preds else torch.empty(0)
        targets = torch.cat(self.targets) if self.targets else None
        losses = torch.cat(self.losses) if self.losses else None
        return KeptPredictions(inputs, preds, targets, losses)


class LearnerPredictions:
    """The Learner's validation and prediction methods: `validate`, `get_preds`, `predict`,
    `predict_table`, `decode_preds` and `describe` (Learner inherits them; they use its model,
    loss, metrics, loaders and callbacks)."""

    kind: ClassVar[str]
    pipeline: Any
    # What `predict_table` suggests instead for a learner that does not predict tables; the
    # command line puts the file's path in place of MODEL.
    table_alternative: ClassVar[str] = "call learn.predict(tensors) with the model's inputs."
    # Whether `predict_table` reads texts from the columns that `text_cols` names.
    reads_text: ClassVar[bool] = False

    @property
    def predicts_tables(self) -> bool:
        """Whether this kind of learner predicts rows of a table (`predict_table`)."""
        return type(self).predict_table is not LearnerPredictions.predict_table

    def _do_validate(self) -> None:
        self.model.eval()
        self.training = False
        for metric in self.metrics:
            metric.reset()
        self._loss_total, self._loss_count = 0.0, 0
        with torch.no_grad():
            for index, batch in enumerate(self.loader):
                self.batch_index = index
                self._set_batch(batch)
                self._with_events(self._validate_batch, "batch", CancelBatch)
        self.valid_results = self._validation_summary()

    def _validate_batch(self) -> None:
        self._predict_and_loss()
        if self._collector is not None:
            self._collector.add(self.inputs, self.preds, self.targets, self.loss_func)
        if self.loss is None:
            return
        size = self.targets.numel()
        self._loss_total += self.loss.item() * size
        self._loss_count += size
        for metric in self.metrics:
            metric.update(self.preds, self.targets)

    def _validation_summary(self) -> dict[str, float]:
        if not self._loss_count:
            return {}
        results = {"valid_loss": self._loss_total / self._loss_count}
        results.update({metric.name: metric.value for metric in self.metrics})
        return results

    def _resolve_loader(self, ds: str | Any) -> Any:
        if not isinstance(ds, str):
            return ds
        check_one_of(ds, ("train", "valid", "test"), "ds", "Or pass a loader.")
        loader = getattr(self.data, ds, None) if self.data is not None else None
        if loader is None:
            raise ConfigError(f"This learner has no {ds!r} data; pass a loader instead, e.g. "
                              "learn.get_preds(TensorLoader(x, y)).")
        return loader

    def _evaluate(self, loader: Any, collector: PredictionCollector | None = None) -> None:
        self.loader = loader
        self.autocast = contextlib.nullcontext()
        self._collector = collector
        try:
            with inference(self.model):
                self._with_events(self._do_validate, "validate")
        finally:
            self._collector = None

    def validate(self, ds: str | Any = "valid") -> dict[str, float]:
        """Loss and metrics over a whole dataset ("valid", "test", "train" or a loader).

        Example:
            >>> learn.validate()   # {"valid_loss": 0.31, "accuracy": 0.86}
        """
        self._evaluate(self._resolve_loader(ds))
        if not self.valid_results:
            raise DataError("This dataset has no targets, so there is no loss to report; use "
                            "get_preds for predictions.")
        return dict(self.valid_results)

    def get_preds(self, ds: str | Any = "valid", with_input: bool = False,
                  with_decoded: bool = False, with_loss: bool = False, reorder: bool = True,
                  activation: bool = True) -> tuple[Any, ...]:
        """Predictions over a dataset, in fastai's order: ((inputs,) predictions, targets,
        (decoded,) (losses)).

        Predictions pass through the loss's activation (softmax for cross-entropy, sigmoid for
        BCE) unless `activation=False`; a language model gives one row per token. `decoded` is
        what the user reads (class labels, or the y_range-scaled value for regression); `losses`
        is each item's loss; targets are None for rows without them. With `reorder`, results
        follow the data's own row order even when the loader batches rows another way (texts
        sorted by length).

        Example:
            >>> probs, targets = learn.get_preds()
            >>> inputs, probs, targets, labels, losses = learn.get_preds(
            ...     with_input=True, with_decoded=True, with_loss=True)
        """
        loader = self._resolve_loader(ds)
        collector = PredictionCollector(with_input, with_loss)
        self._evaluate(loader, collector)
        kept = collector.result(getattr(loader, "pad_id", 0))
        if reorder and not getattr(loader, "shuffle", False):
            kept = kept.reordered(original_order(getattr(loader, "order", None), len(kept.preds)))
        act = activation_for(self.loss_func)
        preds = act(kept.preds) if act is not None and activation else kept.preds
        result: list[Any] = [kept.inputs] if with_input else []
        result += [preds, kept.targets]
        if with_decoded:
            activated = act(kept.preds) if act is not None and not activation else preds
            result.append(self.decode_preds(activated))
        if with_loss:
            result.append(kept.losses)
        return tuple(result)

    def decode_preds(self, preds: Tensor) -> Any:
        """Activated predictions as the user reads them: the pipeline's decoding when the learner
        has one, else class indices (cross-entropy), 0/1 flags (BCE) or the values themselves."""
        if self.pipeline is not None:
            return self.pipeline.decode(preds)
        name = loss_name(self.loss_func)
        if name == "cross_entropy":
            return preds.argmax(dim=-1)
        if name == "bce_with_logits":
            return preds > 0.5
        return preds

    def predict(self, item: Any) -> Any:
        """Predictions for model inputs: one tensor, or a tuple of the model's input tensors.

        Runs in eval mode without gradients, in chunks of 65,536 rows, and applies the loss's
        activation; application learners take their own kind of input instead (rows, ratings,
        texts: see their `predict`).

        Example:
            >>> learn.predict(x)                   # one input tensor
            >>> learn.predict((cat_codes, conts))  # a model with two inputs
        """
        inputs = tuple(item) if isinstance(item, (tuple, list)) else (item,)
        if not inputs:
            raise ConfigError("predict needs the model's input tensors, e.g. learn.predict(x).")
        tensors = tuple(torch.as_tensor(t) for t in inputs)
        output = predict_in_chunks(self.model, tensors, self.device)
        act = activation_for(self.loss_func)
        return act(output) if act else output

    def predict_table(self, rows: pd.DataFrame, strict: bool = False,
                      text_cols: Sequence[str] | None = None) -> pd.DataFrame:
        """Prediction columns for a DataFrame of rows (what `briskml predict` writes), indexed
        like `rows`. `strict` refuses categories or ids never seen in training; `text_cols` names
        a text classifier's columns. Learners that do not predict tables say what to use instead.
        """
        raise ConfigError(f"A {self.kind} learner does not predict rows of a table; "
                          f"{self.table_alternative}")

    def describe(self) -> dict[str, Any]:
        """What this learner is, as JSON-able values: kind, model and its configuration, loss,
        metrics, layer groups, parameter counts and the pipeline's description."""
        spec = model_spec(self.model)
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.model.parameters())
        return {
            "kind": self.kind,
            "model": spec["name"] if spec else type(self.model).__name__,
            "config": spec["config"] if spec else None,
            "loss": loss_name(self.loss_func),
            "metrics": [metric.name for metric in self.metrics],
            "layer_groups": len(self.layer_groups),
            "parameters": {"total": total, "trainable": trainable},
            "pipeline": self.pipeline.describe() if self.pipeline is not None else None,
        }
