"""Callbacks that change how a batch trains: divergence guard, gradient clip, mixed precision."""

from __future__ import annotations

import copy
import functools
import math
import warnings
from pathlib import Path
from typing import Any

import torch

from briskml.callbacks.core import Callback, CancelBatch
from briskml.checks import check_one_of
from briskml.errors import BriskWarning, ConfigError, TrainingDiverged


class DivergenceGuard(Callback):
    """Always on: a NaN or infinite training loss stops fit with TrainingDiverged, and the model and
    optimizer go back to where they were at the start of that epoch."""

    order = 5  # after loss-changing callbacks (order 0), before mixed precision scales the loss
    run_during_lr_find = False  # lr_find expects to diverge; it stops and restores by itself

    def before_train(self) -> None:
        """Keep a copy of the weights and optimizer state as the epoch starts (a resumed epoch
        keeps the copy its checkpoint holds)."""
        learn = self.learn
        if getattr(self, "_resumed_model_state", None) is not None:
            self._model_state, self._resumed_model_state = self._resumed_model_state, None
            self._optimizer_state = copy.deepcopy(learn.opt.state_dict())
            return
        self._model_state = {key: value.detach().clone()
                             for key, value in learn.model.state_dict().items()}
        self._optimizer_state = copy.deepcopy(learn.opt.state_dict())

    def state_dict(self) -> dict[str, Any]:
        """Mid-epoch, the weights as the epoch started (at an epoch's end there is none)."""
        if not self.learn.training or not hasattr(self, "_model_state"):
            return {}
        return {f"model.{key}": value for key, value in self._model_state.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Keep a mid-epoch checkpoint's epoch-start weights for the resumed epoch."""
        self._resumed_model_state = {key[len("model."):]: value for key, value in state.items()
                                     if key.startswith("model.")}

    def after_loss(self) -> None:
        """Check the loss; restore the epoch's starting point and raise if it is not finite."""
        learn = self.learn
        if not learn.training:
            return
        value = learn.loss.item()  # one scalar read is ~25x cheaper than torch.isfinite(...).all()
        if math.isfinite(value):
            return
        learn.model.load_state_dict(self._model_state)
        learn.opt.load_state_dict(self._optimizer_state)
        raise TrainingDiverged(
            f"The training loss became {value} at epoch {learn.epoch}, batch {learn.batch_index}. "
            f"The model and optimizer are back at their state from the start of epoch "
            f"{learn.epoch}. Lower the learning rate (learn.lr_find() suggests one), clip "
            "gradients (GradientClip), or check the inputs for NaN or infinite values."
        )


class GradientClip(Callback):
    """Clip the gradients' global norm to `max_norm` before each step."""

    order = 20  # after MixedPrecision has unscaled the gradients

    def __init__(self, max_norm: float = 1.0) -> None:
        if not max_norm > 0:
            raise ConfigError(f"max_norm must be positive; got {max_norm}.")
        self.max_norm = max_norm

    def after_backward(self) -> None:
        """Clip the trainable parameters' gradients (dense and sparse) to one global norm."""
        grads = [p.grad for p in self.learn.model.parameters() if p.grad is not None]
        if not any(grad.is_sparse for grad in grads):
            torch.nn.utils.clip_grad_norm_(self.learn.model.parameters(), self.max_norm)
            return
        # clip_grad_norm_ has no sparse support: take the norm of a sparse gradient's values.
        norms = [(g.coalesce().values() if g.is_sparse else g).norm() for g in grads]
        total = torch.linalg.vector_norm(torch.stack(norms))
        scale = (self.max_norm / (total + 1e-6)).clamp(max=1.0)
        for grad in grads:
            grad.mul_(scale)


_DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
           "float16": torch.float16, "half": torch.float16}


class MixedPrecision(Callback):
    """Run the forward pass and loss under autocast; float16 also scales the loss (GradScaler).

    bfloat16 needs no loss scaling. On CUDA both work; on a CPU bfloat16 is the usual choice.
    """

    order = 10

    def __init__(self, dtype: torch.dtype | str = torch.bfloat16) -> None:
        if isinstance(dtype, str):
            dtype = _DTYPES[check_one_of(dtype.lower(), sorted(_DTYPES), "dtype")]
        if dtype not in (torch.bfloat16, torch.float16):
            raise ConfigError(f"Mixed precision needs torch.bfloat16 or torch.float16; "
                              f"got {dtype}.")
        self.dtype = dtype
        self.scaler: torch.amp.GradScaler | None = None
        self._skipped = False

    def before_fit(self) -> None:
        """Switch autocast on for fit, with a loss scaler for float16."""
        if self.learn.device.type == "cpu" and not cpu_runs_natively(self.dtype):
            warnings.warn(
                f"This CPU has no native {self.dtype} instructions, so autocast emulates them: "
                "on a 2-core AVX2 machine it measured about 30x slower than float32 "
                "(bench/bf16_cpu.py). Use to_fp32() here; mixed precision pays off on a GPU or a "
                "CPU with AVX-512 BF16/FP16 or AMX.", BriskWarning, stacklevel=2)
        self._use_autocast()
        if self.dtype == torch.float16 and self.scaler is None:
            self.scaler = torch.amp.GradScaler(self.learn.device.type)

    def state_dict(self) -> dict[str, Any]:
        """The float16 loss scaler's state (bfloat16 keeps none)."""
        return {"scaler": self.scaler.state_dict()} if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on with a checkpoint's loss scale."""
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])

    def before_validate(self) -> None:
        """Switch autocast on for validation and prediction too."""
        self._use_autocast()

    def _use_autocast(self) -> None:
        self.learn.autocast = torch.autocast(device_type=self.learn.device.type, dtype=self.dtype)

    def after_loss(self) -> None:
        """Scale the loss that backward will use (float16 only), with any penalty that earlier
        callbacks (such as text's AR/TAR) added to it."""
        if self.scaler is not None and self.learn.training:
            self.learn.loss_grad = self.scaler.scale(self.learn.loss_grad)

    def after_backward(self) -> None:
        """Unscale gradients; skip the step (and lower the scale) if any is inf or NaN."""
        if self.scaler is None:
            return
        if not scaler_allows_step(self.scaler, self.learn.opt):
            self.scaler.update()
            raise CancelBatch

    def after_step(self) -> None:
        """Let the scaler adjust its scale after a real step."""
        if self.scaler is not None:
            self.scaler.update()


_NATIVE_FLAGS = {torch.bfloat16: {"avx512_bf16", "amx_bf16"},
                 torch.float16: {"avx512_fp16", "amx_fp16"}}


def cpu_runs_natively(dtype: torch.dtype) -> bool:
    """Whether this CPU has instructions for `dtype` arithmetic (True when it cannot tell)."""
    flags = _cpu_flags()
    return flags is None or bool(flags & _NATIVE_FLAGS[dtype])


@functools.cache
def _cpu_flags() -> frozenset[str] | None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return None
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return None


def scaler_allows_step(scaler: torch.amp.GradScaler, optimizer: torch.optim.Optimizer) -> bool:
    """Unscale the optimizer's gradients and say whether they are all finite (a step may run).

    GradScaler gives its inf/NaN verdict only through `step(optimizer)`, which would also take the
    step; the Learner takes the real step itself, so weight decay and the other callbacks stay in
    its one training loop. So `step` is handed a stand-in that records whether it was called.
    """
    probe = _StepProbe(optimizer)
    scaler.unscale_(probe)
    scaler.step(probe)   # calls probe.step() only when every gradient is finite
    return probe.stepped


class _StepProbe:
    """Stands in for the optimizer inside GradScaler.step: records whether a step was allowed."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.param_groups: list[dict[str, Any]] = optimizer.param_groups
        self.stepped = False

    def step(self, *args: Any, **kwargs: Any) -> None:
        self.stepped = True
