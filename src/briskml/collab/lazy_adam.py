"""LazyAdam: Adam that updates only the embedding rows a batch touched.

An embedding table built with `sparse=True` gets a sparse gradient that names the rows of the
batch. For such a table, LazyAdam moves the moments and the weights of those rows only, so a step
costs the same whatever the table's size (TensorFlow Addons calls this LazyAdam). A dense Adam
touches every row of every table at every step, which on a CPU costs more than the whole forward
and backward pass of a dot-product model at bs=64. Dense parameters (an MLP's weights) get torch's
fused Adam. The bias correction counts the parameter's steps, as torch.optim.SparseAdam does.

Weight decay comes from each parameter group's `wd` and `wd_mode` keys, which the Learner writes.
The Learner decays dense parameters itself and leaves parameters with sparse gradients to the
optimizer, so here decay applies only to the touched rows of sparse ones: a row shrinks when it is
used, like the per-rating L2 penalty of classic matrix factorisation, not at every step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from briskml.errors import ConfigError
from briskml.optim import OptimizerFactory


class LazyAdam(torch.optim.Optimizer):
    """Adam with row-wise (lazy) updates for sparse gradients and fused Adam for dense ones.

    Example:
        >>> model = nn.Embedding(10_000, 50, sparse=True)
        >>> optimizer = LazyAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.99), eps: float = 1e-5) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "wd": 0.0, "wd_mode": "decoupled"}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient; like torch's optimizers, a `closure` that
        recomputes the loss is called first (with gradients on) and its loss returned."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                dense, sparse = [], []
                for param in group["params"]:
                    if param.grad is not None:
                        (sparse if param.grad.is_sparse else dense).append(param)
                if dense:
                    self._dense_step(group, dense)
                if sparse:
                    self._sparse_step(group, sparse)
        return loss

    def _dense_step(self, group: dict[str, Any], params: list[Tensor]) -> None:
        states = [self._dense_state(p) for p in params]
        steps = [state["step"] for state in states]
        for step in steps:
            step.add_(1.0)
        # The Learner has already decayed these (apply_weight_decay), so no decay here.
        _fused_adam(group, params, [p.grad for p in params],
                    [state["exp_avg"] for state in states],
                    [state["exp_avg_sq"] for state in states], steps, decay=False)

    def _sparse_step(self, group: dict[str, Any], params: list[Tensor]) -> None:
        # Gather the touched rows of every table, update them all in one fused call, scatter back.
        touched = [_TouchedRows(param, self._sparse_state(param)) for param in params]
        steps = [rows.state["step"] for rows in touched]
        for step in steps:
            step.add_(1.0)
        _fused_adam(group, [rows.weights for rows in touched], [rows.grads for rows in touched],
                    [rows.moments[0] for rows in touched], [rows.moments[1] for rows in touched],
                    steps, decay=True)
        for rows in touched:
            rows.scatter()

    def _dense_state(self, param: Tensor) -> dict[str, Tensor]:
        state = self.state[param]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32, device=param.device)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state

    def _sparse_state(self, param: Tensor) -> dict[str, Tensor]:
        # Both moments in one (2, *param.shape) tensor, so a step gathers and scatters them with
        # one call each: on a CPU the number of calls, not their size, sets a step's cost.
        state = self.state[param]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32, device=param.device)
            state["moments"] = torch.zeros((2, *param.shape), dtype=param.dtype,
                                           device=param.device)
        return state


class _TouchedRows:
    """The rows of one table that a sparse gradient touched: weights, summed gradients, moments."""

    def __init__(self, param: Tensor, state: dict[str, Tensor]) -> None:
        # coalesce sums the gradients of rows that occur more than once and sorts the rows.
        grad = param.grad.coalesce()
        self.param, self.state = param, state
        self.rows, self.grads = grad.indices()[0], grad.values()   # (rows,), (rows, *row_shape)
        self.weights = param.index_select(0, self.rows)
        self.moments = state["moments"].index_select(1, self.rows)   # (2, rows, *row_shape)

    def scatter(self) -> None:
        """Write the updated rows back into the table and the optimizer state."""
        self.param.index_copy_(0, self.rows, self.weights)
        self.state["moments"].index_copy_(1, self.rows, self.moments)


def _fused_adam(group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                exp_avgs: list[Tensor], exp_avg_sqs: list[Tensor], steps: list[Tensor],
                decay: bool) -> None:
    """One fused Adam update (steps already counted), with the group's weight decay if `decay`.

    Calls torch's kernels without `torch.optim.adam.adam`'s Python checks, which cost as much as
    the kernel itself on a batch's few rows. Decoupled decay runs AdamW's kernel (w -= lr*wd*w),
    L2 decay Adam's (g += wd*w).
    """
    beta1, beta2 = group["betas"]
    wd = group["wd"] if decay else 0.0
    kernel = torch._fused_adamw_ if group["wd_mode"] == "decoupled" else torch._fused_adam_
    kernel(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=group["lr"], beta1=beta1,
           beta2=beta2, weight_decay=wd, eps=group["eps"], amsgrad=False, maximize=False)


def lazy_adam(param_groups: list[dict[str, Any]], betas: tuple[float, float] = (0.9, 0.99),
              eps: float = 1e-5) -> LazyAdam:
    """The Learner's `opt_func` for models with sparse embeddings (fastai's Adam defaults)."""
    return LazyAdam(param_groups, betas=betas, eps=eps)


def optimizer_for(model: nn.Module, opt_func: str | OptimizerFactory | None
                  ) -> str | OptimizerFactory:
    """The optimizer for `model`: LazyAdam when it has sparse embeddings (unless `opt_func`
    names one that handles them), else `opt_func` or Adam."""
    sparse = any(isinstance(m, nn.Embedding) and m.sparse for m in model.modules())
    if opt_func is None:
        return lazy_adam if sparse else "adam"
    if sparse and isinstance(opt_func, str):
        raise ConfigError(f"opt_func={opt_func!r} cannot update sparse embeddings; build the "
                          "learner with sparse=False to use it, or pass an optimizer factory that "
                          "handles sparse gradients (the default is briskml's LazyAdam).")
    return opt_func
