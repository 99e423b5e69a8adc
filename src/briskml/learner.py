"""Learner: the training loop, layer groups, freezing, schedules, prediction, saving, export."""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

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
    ProgressCallback,
    Recorder,
    suggest_learning_rates,
)
from briskml.checkpoint import LearnerFiles
from briskml.checks import check_positive_int
from briskml.data import set_seed
from briskml.errors import ConfigError, DataError
from briskml.fit_recipes import FitRecipes
from briskml.inference import LearnerPredictions, PredictionCollector
from briskml.losses import LossFunc, default_loss
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
from briskml.resume import (
    ResumePoint,
    capture_rng,
    checkpoint_rng,
    find_resume_point,
    restore_training_state,
)
from briskml.rng import get_rng_states, set_rng_states

DEFAULT_WD = 0.01
Splitter = Callable[[nn.Module], Sequence[Iterable[nn.Parameter]]]

# Learner classes by `kind`, so load_learner rebuilds the right one (filled by __init_subclass__).
_LEARNER_KINDS: dict[str, type[Learner]] = {}


def default_splitter(model: nn.Module) -> list[list[nn.Parameter]]:
    """One layer group holding every parameter."""
    return [list(model.parameters())]


class Learner(FitRecipes, LearnerPredictions, LearnerFiles):
    """Train `model` on `data` with callbacks, schedules, layer groups and metrics.

    Example:
        >>> learn = Learner(data, model, loss_func=mse_flat, metrics=[rmse])
        >>> learn.fit_one_cycle(5, 1e-2)
        >>> learn.validate()
    """

    kind: ClassVar[str] = "learner"
    # Momentum of fit_one_cycle and fine_tune when none is given; text learners use ULMFiT's.
    default_moms: ClassVar[tuple[float, ...]] = (0.95, 0.85, 0.95)
    # The fitted pipeline (processors, vocabulary, classes) of an application learner.
    pipeline: Any = None

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
        self._collector: PredictionCollector | None = None
        # Resuming (briskml.resume): the outermost fit call's name, which of its _run_fit calls
        # is running, the checkpoint being resumed, and the generators as the epoch started.
        self._fit_method, self._stage, self._fit_depth = "", -1, 0
        self._resume_point: ResumePoint | None = None
        self._resuming: ResumePoint | None = None
        self._start_batch = 0
        self._epoch_start_rng: dict[str, Any] | None = None

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
            callbacks: Sequence[Callback] = (), resume: str | Path | None = None) -> None:
        """Train for `n_epoch` epochs at a constant learning rate (float, slice or per group).

        `resume` (a folder of `Checkpoint`s, or one checkpoint file) continues the same call
        from its newest complete checkpoint, as if it had never stopped; so do the other fit
        methods' `resume`."""
        with self._fit_call("fit", resume):
            self._check_can_train(n_epoch)
            set_learning_rates(self.opt, resolve_lrs(lr, len(self.layer_groups)))
            reset_momentum(self.opt)
            set_weight_decay(self.opt, self.wd if wd is None else wd, self.wd_mode)
            self._run_fit(n_epoch, callbacks)

    @contextlib.contextmanager
    def _fit_call(self, method: str, resume: str | Path | None) -> Iterator[None]:
        """Mark the outermost fit call (the one a checkpoint resumes) and find its checkpoint."""
        outermost = self._fit_depth == 0
        if outermost:
            self._fit_method, self._stage = method, -1
            if resume is not None:
                folder = Path(resume)
                self._resume_point = find_resume_point(
                    folder if folder.is_absolute() or folder.exists() else self.path / folder,
                    self, method)
        elif resume is not None:
            raise ConfigError("resume goes to the outermost fit call only.")
        self._fit_depth += 1
        try:
            yield
        finally:
            self._fit_depth -= 1
            if outermost:
                self._resume_point = None

    def _check_can_train(self, n_epoch: int) -> None:
        if self.data is None or getattr(self.data, "train", None) is None:
            raise ConfigError("This learner has no training data (it was loaded for inference); "
                              "build a Learner with data to train.")
        check_positive_int(n_epoch, "n_epoch")
        if len(self.data.train) == 0:
            raise DataError("The training loader yields no batches; check its size, bs and "
                            "drop_last.")

    def _run_fit(self, n_epoch: int, callbacks: Sequence[Callback], validate: bool = True,
                 for_lr_find: bool = False) -> None:
        self.n_epoch, self.epoch, self.train_iter = n_epoch, 0, 0
        self.total_train_iters = n_epoch * len(self.data.train)
        self._validate_each_epoch = validate and getattr(self.data, "valid", None) is not None
        self.autocast = contextlib.nullcontext()
        point = None
        if not for_lr_find:
            self._stage += 1
            point = self._resume_point
            if point is not None and self._stage < point.stage:
                return   # a stage the checkpoint had finished: its result is in the checkpoint
        with self._temporary_callbacks(callbacks, for_lr_find):
            try:
                self._dispatch("before_fit")
                start_epoch, start_batch = 0, 0
                if point is not None:
                    self._resume_point, self._resuming = None, point   # later stages start anew
                    position = restore_training_state(self, point)
                    start_epoch, start_batch = position["epoch"], position["batch"]
                    if start_batch == 0:
                        checkpoint_rng(point, self)
                self._do_fit(start_epoch, start_batch)
            except CancelFit:
                pass
            finally:
                # after_fit runs even when an error stops training, so bars close, files are
                # flushed and SaveBestModel can still restore the best weights.
                self._dispatch("after_fit")
                self._zero_grad()
                self.training = False

    def _do_fit(self, start_epoch: int = 0, start_batch: int = 0) -> None:
        self._start_batch = start_batch
        for epoch in range(start_epoch, self.n_epoch):
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
        batches, start = iter(self.loader), self._start_batch
        if start:   # resuming mid-epoch: replay the epoch's order, skip the batches it trained
            checkpoint_rng(self._resuming, self, "epoch_start_rng")
            self._epoch_start_rng = capture_rng(self)
            for _ in range(start):
                next(batches)
            checkpoint_rng(self._resuming, self)
            self._start_batch = 0
        else:
            self._epoch_start_rng = capture_rng(self)
        for index, batch in enumerate(batches, start=start):
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
        """What opt.zero_grad(set_to_none=True) does, without its per-call profiling wrapper: a
        speed tweak kept because it measurably pays on small models (bench/README.md)."""
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
        return {"model": copy.deepcopy(self.model.state_dict()),
                "opt": copy.deepcopy(self.opt.state_dict()),
                "training": self.model.training, "rng": get_rng_states()}

    def _restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.model.train(state["training"])
        set_rng_states(state["rng"])

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

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(model={type(self.model).__name__}, "
                f"layer_groups={len(self.layer_groups)}, device={self.device.type})")


_LEARNER_KINDS[Learner.kind] = Learner


def learner_class(kind: str) -> type[Learner] | None:
    """The Learner class that exported files of this `kind` rebuild (None when unknown)."""
    return _LEARNER_KINDS.get(kind)


def learner_kinds() -> list[str]:
    """The kinds of learner this briskml can load."""
    return sorted(_LEARNER_KINDS)


def _pick_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ConfigError(f"device {device!r} is not a valid torch device (try 'cpu' or "
                          "'cuda').") from error
