"""Seconds per iteration of Learner.fit against a bare PyTorch loop doing the same work.

Both train the same tiny MLP from the same initial weights on the same batches (the same
TensorLoader), with the same torch optimizer, and run a validation pass each epoch. The Learner runs
with its stock callbacks (Recorder, divergence guard, progress; bars off when not on a terminal).
Each repeat runs every variant back to back; the overhead is the median over repeats of the ratio
within a repeat, so the machine's drift (large on a shared 2-core VM) mostly cancels.

Usage: python bench/engine_overhead.py [--repeats 21] [--epochs 2] [--bs 64]
Writes bench/results/engine_overhead.json. Target: overhead_pct <= 10 on CPU.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from machine import cpu_info
from torch import nn

import briskml as bm
from briskml.optim import adam
from briskml.persist import write_json

RESULTS = Path(__file__).parent / "results" / "engine_overhead.json"


def make_data(bs: int, num_rows: int = 8192, num_features: int = 32) -> bm.DataLoaders:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(num_rows, num_features, generator=generator)
    y = (x @ torch.randn(num_features, generator=generator)).sin()
    cut = num_rows * 7 // 8
    return bm.DataLoaders(bm.TensorLoader(x[:cut], y[:cut], bs=bs, shuffle=True),
                          bm.TensorLoader(x[cut:], y[cut:], bs=bs * 4))


def make_model(num_features: int = 32) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(num_features, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                         nn.Linear(32, 1))


def bare_loop(model: nn.Module, data: bm.DataLoaders, epochs: int, fused: bool = True) -> float:
    """The loop a PyTorch user writes by hand; returns seconds per training iteration.

    With `fused` it uses briskml's Adam factory (the optimizer the Learner uses), so the comparison
    isolates the engine; without, torch's default Adam, as most hand-written loops do.
    """
    if fused:
        optimizer = adam([{"params": list(model.parameters())}])
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5)
    iterations = 0
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for inputs, targets in data.train:
            optimizer.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(inputs).reshape(-1), targets)
            loss.backward()
            optimizer.step()
            iterations += 1
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for inputs, targets in data.valid:
                total += F.mse_loss(model(inputs).reshape(-1), targets).item() * len(targets)
                count += len(targets)
    return (time.perf_counter() - start) / iterations


def learner_fit(model: nn.Module, data: bm.DataLoaders, epochs: int, one_cycle: bool) -> float:
    """The same work through Learner.fit (or fit_one_cycle); seconds per training iteration."""
    learn = bm.Learner(data, model, loss_func=bm.mse_flat, opt_func="adam", wd=0.0)
    start = time.perf_counter()
    if one_cycle:
        learn.fit_one_cycle(epochs, 1e-3)
    else:
        learn.fit(epochs, 1e-3)
    return (time.perf_counter() - start) / (epochs * len(data.train))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--bs", type=int, default=64)
    args = parser.parse_args()

    data = make_data(args.bs)
    initial = make_model()
    timings: dict[str, list[float]] = {"bare": [], "fit": [], "fit_one_cycle": [],
                                       "bare_default_adam": []}
    runs = {"bare": lambda m: bare_loop(m, data, args.epochs),
            "bare_default_adam": lambda m: bare_loop(m, data, args.epochs, fused=False),
            "fit": lambda m: learner_fit(m, data, args.epochs, one_cycle=False),
            "fit_one_cycle": lambda m: learner_fit(m, data, args.epochs, one_cycle=True)}
    for run in runs.values():  # warm-up: first-call allocations and lazy imports
        run(copy.deepcopy(initial))
    for _ in range(args.repeats):
        for name, run in runs.items():
            timings[name].append(run(copy.deepcopy(initial)))

    bare = statistics.median(timings["bare"])
    result = {
        "command": "python bench/engine_overhead.py " + " ".join(
            f"--{key} {value}" for key, value in vars(args).items()),
        "workload": {"rows_train": len(data.train.tensors[0]), "features": 32,
                     "model": "Linear(32,64)-ReLU-Linear(64,32)-ReLU-Linear(32,1)",
                     "optimizer": "torch Adam, fused (betas 0.9/0.99, eps 1e-5), wd 0; "
                                  "bare_default_adam: the same without fused=True",
                     "bs": args.bs, "epochs": args.epochs,
                     "iterations_per_run": args.epochs * len(data.train)},
        "seconds_per_iteration": {name: statistics.median(values)
                                  for name, values in timings.items()},
        "all_runs": timings,
        # Each repeat runs the variants back to back, so the ratio within a repeat cancels most of
        # the machine's drift; the median over repeats is the figure we report.
        "overhead_pct": {name: 100 * (statistics.median(
            value / base for value, base in zip(timings[name], timings["bare"], strict=True)) - 1)
            for name in ("fit", "fit_one_cycle", "bare_default_adam")},
        "overhead_pct_of_medians": {name: 100 * (statistics.median(timings[name]) / bare - 1)
                                    for name in ("fit", "fit_one_cycle", "bare_default_adam")},
        "target_overhead_pct": 10,
        "machine": {"cpu": cpu_info(),
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "torch": torch.__version__, "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS, result)  # atomic
    for name, value in result["seconds_per_iteration"].items():
        print(f"{name:>14}: {value * 1e6:8.1f} us/iteration")
    for name, value in result["overhead_pct"].items():
        print(f"{name:>14} overhead vs bare loop: {value:+.1f}%")


if __name__ == "__main__":
    main()
