"""The demo `make demo` runs: train a small model end to end and report what happened.

For now it uses synthetic data made on the spot; the application issues add the bundled samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from briskml.data import DataLoaders, TensorLoader
from briskml.layers import MLP, MLPConfig
from briskml.learner import Learner
from briskml.metrics import accuracy


@dataclass(frozen=True)
class DemoResult:
    """What the demo trained and measured."""

    name: str
    metrics: dict[str, float]
    seconds: float


def synthetic_classification(num_rows: int, num_features: int = 20, num_classes: int = 3,
                             seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows labelled by a random two-layer teacher network (learnable, but not linearly)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_rows, num_features, generator=generator)
    hidden = torch.randn(num_features, 32, generator=generator)
    output = torch.randn(32, num_classes, generator=generator)
    y = (torch.tanh(x @ hidden) @ output).argmax(dim=1)
    return x, y


def run_synthetic_demo(quick: bool = False, out: Path | None = None) -> DemoResult:
    """Train an MLP classifier with lr_find and fit_one_cycle; save plots into `out`."""
    num_rows = 4_000 if quick else 20_000
    x, y = synthetic_classification(num_rows)
    cut = int(num_rows * 0.8)
    data = DataLoaders(TensorLoader(x[:cut], y[:cut], bs=128, shuffle=True),
                       TensorLoader(x[cut:], y[cut:], bs=1024))
    model = MLP(MLPConfig(in_features=x.shape[1], out_features=3, layers=(128, 64)))
    learn = Learner(data, model, metrics=[accuracy], seed=42)
    start = time.perf_counter()
    suggestion = learn.lr_find(num_it=50 if quick else 100)
    print(f"lr_find suggests valley={suggestion.valley:.2e}, minimum={suggestion.minimum:.2e}")
    learn.fit_one_cycle(2 if quick else 5, 1e-2)
    seconds = time.perf_counter() - start
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        learn.recorder.plot_lr_find(out / "synthetic_lr_find.png")
        learn.recorder.plot_loss(out / "synthetic_loss.png")
    return DemoResult("synthetic MLP classifier", learn.validate(), seconds)
