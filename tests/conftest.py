"""Tiny fixtures shared by the tests: seeded generators, synthetic data, small models."""

from __future__ import annotations

import os
import random
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

import briskml as bm

# The tests train tiny models: one thread each is faster than two, and two threads fighting another
# busy process over two cores made some tests 10-60x slower. Subprocesses (CLI, examples)
# inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(autouse=True)
def seeded() -> None:
    """Every test starts from the same random state."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


def make_regression(num_rows: int = 256, num_features: int = 4, seed: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """y = x @ w + noise: a problem a small model learns in a few epochs."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_rows, num_features, generator=generator)
    weights = torch.randn(num_features, generator=generator)
    y = x @ weights + 0.05 * torch.randn(num_rows, generator=generator)
    return x, y


def make_classification(num_rows: int = 256, num_features: int = 4, seed: int = 0
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes split by a hyperplane."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_rows, num_features, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def make_loaders(x: torch.Tensor, y: torch.Tensor, bs: int = 32) -> bm.DataLoaders:
    cut = len(x) * 3 // 4
    return bm.DataLoaders(bm.TensorLoader(x[:cut], y[:cut], bs=bs, shuffle=True),
                          bm.TensorLoader(x[cut:], y[cut:], bs=bs * 2))


@pytest.fixture
def regression_data() -> bm.DataLoaders:
    """256 rows, 4 features, a float target."""
    return make_loaders(*make_regression())


@pytest.fixture
def classification_data() -> bm.DataLoaders:
    """256 rows, 4 features, a 0/1 class target."""
    return make_loaders(*make_classification())


class TwoLayer(nn.Module):
    """A 2-layer model with a BatchNorm, so layer groups and no-decay parameters exist."""

    def __init__(self, in_features: int = 4, hidden: int = 16, out_features: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.BatchNorm1d(hidden))
        self.head = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def two_group_splitter(model: TwoLayer) -> list[list[nn.Parameter]]:
    return [list(model.body.parameters()), list(model.head.parameters())]


@pytest.fixture
def make_learner(tmp_path) -> Callable[..., bm.Learner]:
    """Build a quiet Learner on regression data (override anything by keyword)."""

    def build(**kwargs) -> bm.Learner:
        data = kwargs.pop("data", None) or make_loaders(*make_regression())
        model = kwargs.pop("model", None) or TwoLayer()
        kwargs.setdefault("loss_func", bm.mse_flat)
        kwargs.setdefault("progress", False)
        kwargs.setdefault("path", tmp_path)
        return bm.Learner(data, model, **kwargs)

    return build
