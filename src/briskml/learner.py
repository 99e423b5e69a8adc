"""Learner: the training loop, layer groups, freezing, schedules, prediction, saving, export."""

from __future__ import annotations

import contextlib
import copy
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from briskml.callbacks import (
    EVENTS,
    Callback,
    CancelBatch,
    CancelEpoch,
    CancelFit,
    DivergenceGuard,
    LRFinder,
    LRFindResult,
    MixedPrecision,
    ParamScheduler,
    ProgressCallback,
    Recorder,
    suggest_learning_rates,
)
from briskml.checkpoint import load_checkpoint, read_export, save_checkpoint, write_export
from briskml.data import set_seed
from briskml.errors import ConfigError, DataError, FileFormatError
from briskml.losses import LossFunc, activation_for, default_loss, loss_from_name, loss_name
from briskml.metrics import Metric, as_metrics
from briskml.optim import (
    LearningRate,
    OptimizerFactory,
    apply_weight_decay,
    build_optimizer,
    check_layer_groups,
    decayed_parameters,
    no_decay_parameter_ids,
    reset_momentum,
    resolve_lrs,
    set_learning_rates,
    set_weight_decay,
)
from briskml.schedules import one_cycle_lr, one_cycle_momentum, slanted_triangular

DEFAULT_WD = 0.01
Splitter = Callable[[nn.Module], Sequence[Iterable[nn.Parameter]]]

# Learner classes by `kind`, so load_learner rebuilds the right one (filled by __init_subclass__).
_LEARNER_KINDS: dict[str, type[Learner]] = {}


def default_splitter(model: nn.Module) -> list[list[nn.Parameter]]:
    """One layer group holding every parameter."""
    return [list(model.parameters())]


class Learner:
    """Train `model` on `data` with callbacks, schedules, layer groups and metrics.

    Example:
        >>> learn = Learner(data, model, loss_func=mse_flat, metrics=[rmse])
        >>> learn.fit_one_cycle(5, 1e-2)
        >>> learn.validate()
    """

    kind: ClassVar[str] = "learner"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            _LEARNER_KINDS[cls.kind] = cls

    def __init__(self, data: Any, model: nn.Module, loss_func: LossFunc | None = None,
                 opt_func: str | OptimizerFactory = "adam",
                 metrics: Metric | Callable | Sequence[Metric | Callable] = (),
                 wd: float | None = None, wd_mode: str = "decoupled",
                 splitter: Splitter | None = None, callbacks: Sequence[Callback] = (),
                 path: str | Path = ".", device: str | torch.device | None = None,
                 seed: int | None = None, progress: bool = True, wd_bn_bias: bool = False) -> None:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
        if seed is not None:
            set_seed(seed)
        self.data, self.loss_func, self.opt_func = data, loss_func, opt_func
        self.device = _pick_device(device)
        self.model = model.to(self.device)
        self.metrics = as_metrics(metrics)
        self.wd = DEFAULT_WD if wd is None else wd
        self.wd_mode, self.wd_bn_bias, self.seed = wd_mode, wd_bn_bias, seed
        self.path = Path(path)
        self.splitter = splitter or default_splitter
        self.layer_groups = check_layer_groups(self.model, self.splitter(self.model))
        self._params = [param for group in self.layer_groups for param in group]
        no_decay = set() if wd_bn_bias else no_decay_parameter_ids(self.model)
        self._decayed = decayed_parameters(self.layer_groups, no_decay)
        self.opt = build_optimizer(opt_func, self.layer_groups)
        set_weight_decay(self.opt, self.wd, wd_mode)
        self._reset_state()
        self.callbacks: list[Callback] = []
        self.recorder = Recorder()
        self.show_progress = progress
        stock: list[Callback] = [self.recorder, DivergenceGuard()]
        if progress:
            stock.append(ProgressCallback())
        self.add_callbacks([*stock, *callbacks])

    def _reset_state(self) -> None:
        self.training = False
        self.epoch, self.n_epoch, self.batch_index = 0, 0, 0
        self.train_iter, self.total_train_iters, self.pct_train = 0, 0, 0.0
        self.loader: Any = None
        self.inputs: tuple[Tensor, ...] = ()
        self.targets: Tensor | None = None
        self.preds: Any = None
        self.loss: Tensor | None = None
        self.loss_grad: Tensor | None = None
        self.valid_results: dict[str, float] = {}
        self.autocast: contextlib.AbstractContextManager = contextlib.nullcontext()

    # ----- callbacks -------------------------------------------------------------------------
    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The torch optimizer in use (also `learn.opt`)."""
        return self.opt

    def add_callbacks(self, callbacks: Iterable[Callback]) -> None:
        """Attach callbacks (they reach this learner as `self.learn`)."""
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise ConfigError(f"Callbacks must subclass briskml.callbacks.Callback; got "
                                  f"{callback!r}.")
            callback.learn = self
            self.callbacks.append(callback)
        self._build_handlers()

    def remove_callbacks(self, callbacks: Iterable[Callback]) -> None:
        """Detach callbacks."""
        for callback in callbacks:
            self.callbacks.remove(callback)
        self._build_handlers()

    def _build_handlers(self, for_lr_find: bool = False) -> None:
        # One list of bound methods per event, only for callbacks that override it, so an
        # event nobody handles costs one dict lookup and an empty loop.
        active = sorted(self.callbacks, key=lambda callback: callback.order)
        if for_lr_find:
            active = [callback for callback in active if callback.run_during_lr_find]
        self._handlers = {
            event: [getattr(callback, event) for callback in active
                    if getattr(type(callback), event) is not getattr(Callback, event)]
            for event in EVENTS
        }

    def _dispatch(self, event: str) -> None:
        for handler in self._handlers[event]:
            handler()

    def _with_events(self, body: Callable[[], None], stage: str,
                     cancel: type[Exception] | tuple[()] = ()) -> None:
        """Fire before_<stage>, run the body, swallow the stage's cancel, fire after_<stage>."""
        try:
            self._dispatch(f"before_{stage}")
            body()
        except cancel:
            pass
        self._dispatch(f"after_{stage}")

    @contextlib.contextmanager
    def _temporary_callbacks(self, callbacks: Sequence[Callback],
                             for_lr_find: bool = False) -> Iterator[None]:
        self.add_callbacks(callbacks)
        self._build_handlers(for_lr_find)
        try:
            yield
        finally:
            self.remove_callbacks(callbacks)

    # ----- training ---------------------------------------------------------------------------
    def fit(self, n_epoch: int, lr: LearningRate = 1e-3, wd: float | None = None,
            callbacks: Sequence[Callback] = ()) -> None:
        """Train for `n_epoch` epochs at a constant learning rate (float, slice or per group)."""
        self._check_can_train(n_epoch)
        set_learning_rates(self.opt, resolve_lrs(lr, len(self.layer_groups)))
        reset_momentum(self.opt)
        set_weight_decay(self.opt, self.wd if wd is None else wd, self.wd_mode)
        self._run_fit(n_epoch, callbacks)

    def fit_one_cycle(self, n_epoch: int, lr_max: LearningRate = 1e-3, div: float = 25.0,
                      div_final: float = 1e5, pct_start: float = 0.25,
                      moms: Sequence[float] = (0.95, 0.85, 0.95), wd: float | None = None,
                      callbacks: Sequence[Callback] = ()) -> None:
        """Train with the 1cycle policy: lr up then down (cosine), momentum the other way.

        Example:
            >>> learn.fit_one_cycle(5, 1e-2)
            >>> learn.fit_one_cycle(1, slice(1e-4, 1e-2), moms=(0.8, 0.7))
        """
        lrs = resolve_lrs(lr_max, len(self.layer_groups))
        momentum = one_cycle_momentum(moms, pct_start)
        scheduler = ParamScheduler(
            lr=[one_cycle_lr(value, div, div_final, pct_start) for value in lrs],
            mom=[momentum] * len(lrs),
        )
        self.fit(n_epoch, lr=lrs, wd=wd, callbacks=[scheduler, *callbacks])

    def fit_stlr(self, n_epoch: int, lr_max: LearningRate, cut_frac: float = 0.1,
                 ratio: float = 32.0, wd: float | None = None,
                 callbacks: Sequence[Callback] = ()) -> None:
        """Train with ULMFiT's slanted triangular learning rates (short linear rise, long decay)."""
        lrs = resolve_lrs(lr_max, len(self.layer_groups))
        scheduler = ParamScheduler(lr=[slanted_triangular(value, cut_frac, ratio) for value in lrs])
        self.fit(n_epoch, lr=lrs, wd=wd, callbacks=[scheduler, *callbacks])

    def _check_can_train(self, n_epoch: int) -> None:
        if self.data is None or getattr(self.data, "train", None) is None:
            raise ConfigError("This learner has no training data (it was loaded for inference); "
                              "build a Learner with data to train.")
        if not isinstance(n_epoch, int) or n_epoch < 1:
            raise ConfigError(f"n_epoch must be a positive integer; got {n_epoch!r}.")
        if len(self.data.train) == 0:
            raise DataError("The training loader yields no batches; check its size, bs and "
                            "drop_last.")

    def _run_fit(self, n_epoch: int, callbacks: Sequence[Callback], validate: bool = True,
                 for_lr_find: bool = False) -> None:
        self.n_epoch, self.epoch, self.train_iter = n_epoch, 0, 0
        self.total_train_iters = n_epoch * len(self.data.train)
        self._validate_each_epoch = validate and getattr(self.data, "valid", None) is not None
        self.autocast = contextlib.nullcontext()
        with self._temporary_callbacks(callbacks, for_lr_find):
            try:
                self._dispatch("before_fit")
                self._do_fit()
            except CancelFit:
                pass
            finally:
                # after_fit runs even when an error stops training, so bars close, files are
                # flushed and SaveBestModel can still restore the best weights.
                self._dispatch("after_fit")
                self._zero_grad()
                self.training = False

    def _do_fit(self) -> None:
        for epoch in range(self.n_epoch):
            self.epoch = epoch
            self._with_events(self._do_epoch, "epoch", CancelEpoch)

    def _do_epoch(self) -> None:
        self.valid_results = {}
        self._with_events(self._do_train, "train")
        if self._validate_each_epoch:
            self.loader = self.data.valid
            self._with_events(self._do_validate, "validate")

    def _do_train(self) -> None:
        self.model.train()
        self.training = True
        self.loader = self.data.train
        for index, batch in enumerate(self.loader):
            self.batch_index = index
            self.pct_train = self.train_iter / self.total_train_iters
            self._set_batch(batch)
            self._with_events(self._train_batch, "batch", CancelBatch)
            self.train_iter += 1

    def _set_batch(self, batch: Sequence[Tensor]) -> None:
        device = self.device
        if any(t.device != device for t in batch):
            batch = tuple(t.to(device, non_blocking=True) for t in batch)
        if getattr(self.loader, "has_target", True):
            self.inputs, self.targets = batch[:-1], batch[-1]
        else:
            self.inputs, self.targets = batch, None
        self.preds = self.loss = self.loss_grad = None

    def _zero_grad(self) -> None:
        # What opt.zero_grad(set_to_none=True) does, without its per-call profiling wrapper, which
        # costs ~12 us per batch on this CPU: a tenth of a small model's whole step.
        for param in self._params:
            param.grad = None

    def _train_batch(self) -> None:
        self._zero_grad()
        self._predict_and_loss()
        self.loss_grad.backward()
        self._dispatch("after_backward")
        apply_weight_decay(self.opt, self._decayed)
        self.opt.step()
        self._dispatch("after_step")

    def _predict_and_loss(self) -> None:
        with self.autocast:
            self.preds = self.model(*self.inputs)
            self._dispatch("after_pred")
            if self.targets is None:
                return
            if self.loss_func is None:
                self.loss_func = default_loss(self.targets)
            self.loss = self.loss_func(self.preds, self.targets)
        self.loss_grad = self.loss
        self._dispatch("after_loss")

    # ----- validation and prediction -------------------------------------------------------------
    def _do_validate(self, keep_preds: bool = False) -> None:
        self.model.eval()
        self.training = False
        for metric in self.metrics:
            metric.reset()
        self._loss_total, self._loss_count = 0.0, 0
        self._kept_preds: list[Tensor] = []
        self._kept_targets: list[Tensor] = []
        self._keep_preds = keep_preds
        with torch.no_grad():
            for index, batch in enumerate(self.loader):
                self.batch_index = index
                self._set_batch(batch)
                self._with_events(self._validate_batch, "batch", CancelBatch)
        self.valid_results = self._validation_summary()

    def _validate_batch(self) -> None:
        self._predict_and_loss()
        if self._keep_preds:
            self._kept_preds.append(self.preds.detach().float().cpu())
            if self.targets is not None:
                self._kept_targets.append(self.targets.detach().cpu())
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
        if ds not in ("train", "valid", "test"):
            raise ConfigError(f"ds must be 'train', 'valid', 'test' or a loader; got {ds!r}.")
        loader = getattr(self.data, ds, None) if self.data is not None else None
        if loader is None:
            raise ConfigError(f"This learner has no {ds!r} data; pass a loader instead, e.g. "
                              "learn.get_preds(TensorLoader(x, y)).")
        return loader

    def _evaluate(self, ds: str | Any, keep_preds: bool) -> None:
        self.loader = self._resolve_loader(ds)
        self.autocast = contextlib.nullcontext()
        was_training = self.model.training
        try:
            self._with_events(lambda: self._do_validate(keep_preds), "validate")
        finally:
            self.model.train(was_training)

    def validate(self, ds: str | Any = "valid") -> dict[str, float]:
        """Loss and metrics over a whole dataset ("valid", "test", "train" or a loader).

        Example:
            >>> learn.validate()   # {"valid_loss": 0.31, "accuracy": 0.86}
        """
        self._evaluate(ds, keep_preds=False)
        if not self.valid_results:
            raise DataError("This dataset has no targets, so there is no loss to report; use "
                            "get_preds for predictions.")
        return dict(self.valid_results)

    def get_preds(self, ds: str | Any = "valid", activation: bool = True
                  ) -> tuple[Tensor, Tensor | None]:
        """(predictions, targets) over a dataset; predictions pass through the loss's activation
        (softmax for cross-entropy, sigmoid for BCE) unless `activation=False`."""
        self._evaluate(ds, keep_preds=True)
        preds = torch.cat(self._kept_preds) if self._kept_preds else torch.empty(0)
        targets = torch.cat(self._kept_targets) if self._kept_targets else None
        act = activation_for(self.loss_func) if activation else None
        return (act(preds) if act else preds), targets

    def predict(self, *inputs: Tensor) -> Tensor:
        """Predictions for one batch of input tensors (eval mode, activation applied)."""
        if not inputs:
            raise ConfigError("predict needs the model's input tensors, e.g. learn.predict(x).")
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                output = self.model(*(torch.as_tensor(t).to(self.device) for t in inputs))
        finally:
            self.model.train(was_training)
        act = activation_for(self.loss_func)
        output = output.float().cpu()
        return act(output) if act else output

    # ----- learning-rate finder -----------------------------------------------------------------
    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
                stop_div: bool = True) -> LRFindResult:
        """Sweep the learning rate exponentially over training batches and suggest one.

        The model, optimizer and random state are restored exactly afterwards.

        Example:
            >>> result = learn.lr_find()
            >>> result.valley, result.minimum, result.steepest
            >>> result.plot("lr_find.png")
        """
        if not 0 < start_lr < end_lr:
            raise ConfigError(f"Need 0 < start_lr < end_lr; got {start_lr} and {end_lr}.")
        if num_it < 2:
            raise ConfigError(f"num_it must be at least 2; got {num_it}.")
        self._check_can_train(1)
        n_epoch = math.ceil(num_it / len(self.data.train))
        finder = LRFinder(start_lr, end_lr, num_it, stop_div, self.show_progress)
        snapshot = self._snapshot()
        try:
            set_weight_decay(self.opt, self.wd, self.wd_mode)
            self._run_fit(n_epoch, [finder], validate=False, for_lr_find=True)
        finally:
            self._restore(snapshot)
        suggestions = suggest_learning_rates(finder.lrs, finder.losses)
        self.recorder.record_lr_find(finder.lrs, finder.losses, suggestions)
        return LRFindResult(finder.lrs, finder.losses, **suggestions)

    def _snapshot(self) -> dict[str, Any]:
        state = {
            "model": copy.deepcopy(self.model.state_dict()),
            "opt": copy.deepcopy(self.opt.state_dict()),
            "training": self.model.training,
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
            "numpy_rng": np.random.get_state(),
        }
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return state

    def _restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.model.train(state["training"])
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["python_rng"])
        np.random.set_state(state["numpy_rng"])
        if "cuda_rng" in state:
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    # ----- layer groups ---------------------------------------------------------------------------
    def freeze_to(self, n: int) -> None:
        """Train only layer groups n and later (negative n counts from the end)."""
        num_groups = len(self.layer_groups)
        start = n if n >= 0 else num_groups + n
        if not 0 <= start < num_groups:
            raise ConfigError(f"freeze_to({n}) is out of range for {num_groups} layer group(s); "
                              f"use 0..{num_groups - 1} or -{num_groups}..-1.")
        for index, group in enumerate(self.layer_groups):
            for param in group:
                param.requires_grad_(index >= start)

    def freeze(self) -> None:
        """Train only the last layer group."""
        self.freeze_to(-1)

    def unfreeze(self) -> None:
        """Train every layer group."""
        self.freeze_to(0)

    # ----- mixed precision ------------------------------------------------------------------------
    def to_bf16(self) -> Learner:
        """Train and predict under bfloat16 autocast."""
        return self._set_precision(MixedPrecision(torch.bfloat16))

    def to_fp16(self) -> Learner:
        """Train and predict under float16 autocast with loss scaling."""
        return self._set_precision(MixedPrecision(torch.float16))

    def to_fp32(self) -> Learner:
        """Back to full precision."""
        return self._set_precision(None)

    def _set_precision(self, callback: MixedPrecision | None) -> Learner:
        self.remove_callbacks([cb for cb in self.callbacks if isinstance(cb, MixedPrecision)])
        self.autocast = contextlib.nullcontext()
        if callback is not None:
            self.add_callbacks([callback])
        return self

    # ----- checkpoints and export ------------------------------------------------------------
    def save(self, name: str, with_opt: bool = True) -> Path:
        """Save weights (and optimizer state) to path/models/<name>.safetensors, atomically.

        A checkpoint of the same name is replaced, as in fastai; the write is atomic, so an
        interrupted save leaves the previous checkpoint whole.
        """
        return save_checkpoint(self._checkpoint_path(name), self.model,
                               self.opt if with_opt else None)

    def load(self, name: str, with_opt: bool = True) -> Learner:
        """Load weights (and optimizer state) saved by `save(name)`."""
        load_checkpoint(self._checkpoint_path(name), self.model, self.opt if with_opt else None)
        return self

    def _checkpoint_path(self, name: str) -> Path:
        return self.path / "models" / f"{name}.safetensors"

    def export(self, fname: str | Path = "export.brisk", overwrite: bool = False) -> Path:
        """Write one file (safetensors weights + JSON) that `load_learner` makes a learner again.

        The file lands in `path` unless `fname` is absolute; an existing file is only replaced
        with `overwrite=True`.
        """
        target = Path(fname) if Path(fname).is_absolute() else self.path / fname
        meta = {
            "kind": self.kind,
            "loss": loss_name(self.loss_func),
            "metrics": [metric.name for metric in self.metrics],
            "last_epoch": self.recorder.values[-1] if self.recorder.values else None,
            "extra": self._export_extra(),
        }
        return write_export(target, self.model, meta, overwrite)

    def _export_extra(self) -> dict[str, Any]:
        """What a subclass needs beyond the model to predict (processors, vocab, classes)."""
        return {}

    @classmethod
    def _from_export(cls, meta: dict[str, Any], model: nn.Module,
                     device: str | torch.device | None) -> Learner:
        """Rebuild a learner of this kind for inference; subclasses restore their `extra`."""
        loss = loss_from_name(meta.get("loss"))
        return cls(None, model, loss_func=loss, device=device, progress=False)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(model={type(self.model).__name__}, "
                f"layer_groups={len(self.layer_groups)}, device={self.device.type})")


_LEARNER_KINDS[Learner.kind] = Learner


def load_learner(fname: str | Path, device: str | torch.device | None = "cpu") -> Learner:
    """Rebuild a learner saved with `export`, ready to predict (on the CPU unless told otherwise).

    Example:
        >>> learn = load_learner("adult.brisk")
        >>> learn.predict(df)
    """
    meta, model = read_export(fname)
    cls = _LEARNER_KINDS.get(meta.get("kind", ""))
    if cls is None:
        raise FileFormatError(f"'{fname}' holds a learner of kind {meta.get('kind')!r}, unknown to "
                              f"this briskml (known: {sorted(_LEARNER_KINDS)}).")
    return cls._from_export(meta, model, device)


def _pick_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ConfigError(f"device {device!r} is not a valid torch device (try 'cpu' or "
                          "'cuda').") from error
