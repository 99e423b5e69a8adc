"""Each hand-written speed tweak against the plain PyTorch way, measured side by side.

The tweaks stay only while they measurably pay (at least 5 % on their benchmark):
- `LeanBatchNorm1d` (briskml.layers) against `nn.BatchNorm1d`'s own forward;
- weight decay applied with one `torch._foreach_mul_` per group (briskml.optim) against a loop
  over the parameters;
- `Learner._zero_grad` (gradients set to None directly) against `optimizer.zero_grad()`;
- keeping freed memory (briskml.text.memory, a process-wide mallopt) against glibc's default, on
  the language-model benchmark (`--lm`, needs WikiText-2 beside the project).

The first three train the lessons' tabular model on the bundled Adult sample (repeated to 40,000
rows, bs 64, one epoch of fit_one_cycle) in one process; every repeat runs every variant back to
back and the figure is the median over repeats of each variant's time over the tweaked one's.

Usage: python bench/speed_tweaks.py [--repeats 7] [--lm] [--lm-batches 12]
Writes bench/results/speed_tweaks.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import torch
from machine import describe_machine
from torch import nn

import briskml as bm
from briskml import learner as learner_module
from briskml.datasets import ADULT_CAT_NAMES, ADULT_CONT_NAMES, adult_sample
from briskml.layers import LeanBatchNorm1d
from briskml.persist import write_json
from briskml.tabular import TabularData

RESULTS = Path(__file__).parent / "results" / "speed_tweaks.json"


def per_parameter_weight_decay(optimizer: torch.optim.Optimizer, decayed: list) -> None:
    """Decoupled weight decay the plain way: one multiply per parameter."""
    for group, params in zip(optimizer.param_groups, decayed, strict=True):
        if not group["wd"]:
            continue
        with torch.no_grad():
            for param in params:
                if param.grad is not None and not param.grad.is_sparse:
                    param.mul_(1 - group["lr"] * group["wd"])


@contextlib.contextmanager
def patched(owner: object, name: str, value: object) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


VARIANTS: dict[str, Callable[[], contextlib.AbstractContextManager]] = {
    "tweaked": contextlib.nullcontext,
    "plain_batchnorm": lambda: patched(LeanBatchNorm1d, "forward", nn.BatchNorm1d.forward),
    "per_parameter_weight_decay": lambda: patched(learner_module, "apply_weight_decay",
                                                  per_parameter_weight_decay),
    "optimizer_zero_grad": lambda: patched(
        learner_module.Learner, "_zero_grad",
        lambda self: self.opt.zero_grad(set_to_none=True)),
}


def tabular_epoch(data: TabularData) -> float:
    learn = bm.tabular_learner(data, layers=[200, 100], seed=0, progress=False)
    start = time.perf_counter()
    learn.fit_one_cycle(1, 1e-2)
    return time.perf_counter() - start


def tabular_tweaks(repeats: int) -> dict:
    df = pd.concat([adult_sample()] * 8, ignore_index=True)
    data = TabularData.from_df(df, y="salary", cat_names=ADULT_CAT_NAMES,
                               cont_names=ADULT_CONT_NAMES, valid_pct=0.2, seed=42, bs=64)
    tabular_epoch(data)   # warm-up
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(repeats):
        for name, variant in VARIANTS.items():
            with variant():
                times[name].append(tabular_epoch(data))
    ratios = {name: statistics.median(t / base for t, base in
                                      zip(times[name], times["tweaked"], strict=True))
              for name in VARIANTS if name != "tweaked"}
    return {"workload": "tabular_learner layers [200, 100], Adult sample x8 (32,000 training "
                        "rows), bs 64, fit_one_cycle(1, 1e-2)",
            "epoch_seconds": times, "plain_over_tweaked_median": ratios}


def lm_allocator(batches: int) -> dict | None:
    import lm_throughput as bench

    if not bench.WIKI_TRAIN.exists():
        return None
    data, _, _ = bench.wikitext_data()
    sizes = bench.CONFIGS["small"]
    runs = []
    for _ in range(2):   # default allocator in a child process, kept memory here, twice
        runs.append({"allocator": "default",
                     **bench.child_run("small", 2, batches)})
        runs.append({"allocator": "keep",
                     **bench.briskml_run(data, sizes, "fp32", 2, batches)})
    keep = [run["steady_tokens_per_s"] for run in runs if run["allocator"] == "keep"]
    default = [run["steady_tokens_per_s"] for run in runs if run["allocator"] == "default"]
    return {"workload": "AWD-LSTM 200/400/2 on WikiText-2, bs 64, seq_len 72, float32",
            "tokens_per_s": {"keep": keep, "default": default},
            "keep_over_default": statistics.median(keep) / statistics.median(default)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--lm", action="store_true", help="also time the memory setting")
    parser.add_argument("--lm-batches", type=int, default=12)
    args = parser.parse_args()
    result = {"command": "python bench/speed_tweaks.py " + " ".join(sys.argv[1:]),
              "machine": describe_machine(), "tabular": tabular_tweaks(args.repeats)}
    if args.lm:
        result["language_model"] = lm_allocator(args.lm_batches)
    result["machine_at_end"] = describe_machine()["loadavg_1_5_15"]
    write_json(RESULTS, result)
    print(json.dumps({key: value for key, value in result.items() if key != "machine"},
                     indent=1, default=str)[:3000])


if __name__ == "__main__":
    main()
