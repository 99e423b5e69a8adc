"""Loaders that batch by indexing whole tensors, the container a Learner trains from, seeding."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from briskml.checks import check_positive_int
from briskml.errors import ConfigError, DataError

Batch = tuple[Tensor, ...]


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators so a CPU run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class TensorLoader:
    """Serve mini-batches from tensors that share their first dimension; the last is the target.

    Batches come from slicing (in order) or from one shuffled index per epoch (with `shuffle`),
    so there is no per-item Python and no collate step.

    Example:
        >>> loader = TensorLoader(x, y, bs=64, shuffle=True)
        >>> for inputs, targets in loader: ...
    """

    def __init__(self, *tensors: Any, bs: int = 64, shuffle: bool = False,
                 drop_last: bool = False, has_target: bool = True,
                 generator: torch.Generator | None = None) -> None:
        if not tensors:
            raise ConfigError("TensorLoader needs at least one tensor, e.g. TensorLoader(x, y).")
        check_positive_int(bs, "bs")
        self.tensors = tuple(_as_tensor(t, position) for position, t in enumerate(tensors))
        self.n = _common_length(self.tensors)
        self.bs = bs
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.has_target = has_target
        self.generator = generator

    def __len__(self) -> int:
        """Number of batches per pass."""
        if self.drop_last:
            return self.n // self.bs
        return math.ceil(self.n / self.bs)

    def __iter__(self) -> Iterator[Batch]:
        num_rows = len(self) * self.bs if self.drop_last else self.n
        if not self.shuffle:
            for start in range(0, num_rows, self.bs):
                yield tuple(t[start:start + self.bs] for t in self.tensors)
            return
        order = torch.randperm(self.n, generator=self.generator)
        for start in range(0, num_rows, self.bs):
            index = order[start:start + self.bs]
            yield tuple(t.index_select(0, index) for t in self.tensors)

    def to(self, device: str | torch.device) -> TensorLoader:
        """Move the held tensors to `device` once (fast when the data fits on the GPU)."""
        self.tensors = tuple(t.to(device) for t in self.tensors)
        return self

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
        return f"TensorLoader({shapes}, bs={self.bs}, shuffle={self.shuffle})"


@dataclass
class DataLoaders:
    """The loaders a Learner uses: `train` and `valid`, and optionally `test`.

    Example:
        >>> data = DataLoaders(TensorLoader(x, y, shuffle=True), TensorLoader(xv, yv))
    """

    train: Any
    valid: Any = None
    test: Any = None

    def __getitem__(self, name: str) -> Any:
        if name not in ("train", "valid", "test"):
            raise ConfigError(f"Unknown dataset {name!r}; choose 'train', 'valid' or 'test'.")
        return getattr(self, name)

    def to(self, device: str | torch.device) -> DataLoaders:
        """Move every loader that supports it to `device`."""
        for loader in (self.train, self.valid, self.test):
            if hasattr(loader, "to"):
                loader.to(device)
        return self


def _as_tensor(value: Any, position: int) -> Tensor:
    if isinstance(value, Tensor):
        return value
    try:
        return torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError) as error:
        raise DataError(
            f"TensorLoader argument {position} ({type(value).__name__}) cannot become a tensor: "
            f"{error}. Pass tensors or numeric arrays."
        ) from error


def _common_length(tensors: tuple[Tensor, ...]) -> int:
    lengths = [len(t) if t.dim() > 0 else -1 for t in tensors]
    if any(length < 0 for length in lengths):
        raise DataError("TensorLoader tensors need a first (row) dimension; got a 0-d tensor.")
    if len(set(lengths)) > 1:
        described = ", ".join(f"tensor {i}: {n} rows" for i, n in enumerate(lengths))
        raise DataError(f"TensorLoader tensors must all have the same number of rows; {described}.")
    return lengths[0]
