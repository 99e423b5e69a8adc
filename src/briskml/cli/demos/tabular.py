"""The tabular part of `make demo`: the lesson's Adult workflow on the bundled 5,000-row sample."""

from __future__ import annotations

import time
from pathlib import Path

from briskml.cli.demos.common import DemoResult, save_plots
from briskml.datasets import ADULT_CAT_NAMES, ADULT_CONT_NAMES, adult_sample
from briskml.metrics import accuracy
from briskml.tabular.data import TabularData
from briskml.tabular.learner import tabular_learner


def run_demo(quick: bool = False, out: Path | None = None) -> DemoResult:
    """Train the lesson's tabular model on the bundled Adult sample; plots go into `out`.

    Example:
        >>> result = run_demo(quick=True, out=Path("demo_out"))
        >>> result.metrics["accuracy"]
    """
    df = adult_sample()
    start = time.perf_counter()
    data = TabularData.from_df(df, y="salary", cat_names=ADULT_CAT_NAMES,
                               cont_names=ADULT_CONT_NAMES,
                               valid_pct=0.2, seed=42, bs=64)
    print(data.show_batch(5).to_string(), flush=True)
    learn = tabular_learner(data, layers=[200, 100], metrics=accuracy, seed=42)
    suggestion = learn.lr_find(num_it=50 if quick else 100)
    print(f"lr_find suggests valley={suggestion.valley:.2e}, minimum={suggestion.minimum:.2e}")
    learn.fit_one_cycle(2 if quick else 5, 1e-2)
    print(learn.predict(df.dropna().head(3)).to_string(), flush=True)
    seconds = time.perf_counter() - start
    save_plots(learn, out, "tabular")
    return DemoResult("tabular Adult sample", learn.validate(), seconds)
