"""Adult census: the lessons' tabular recipe, timed at bs=64 and bs=1024, against fastai's figures.

Recipe (the same as ../shared/peers/tabular_fastai.py): adult.csv read with skipinitialspace=True,
the fixed validation rows of ../shared/splits/adult_valid_idx.json, y = salary, 8 categorical and 6
continuous columns, procs FillMissing, Categorify, Normalize, layers [200, 100],
fit_one_cycle(5, 1e-2), seed 42. Records validation accuracy, seconds per epoch (train +
validation), training rows per second, and the time to predict 10,000 rows (DataFrame in,
DataFrame out). Also records the one change that lifts accuracy well past the target:
capital-gain and capital-loss entered a second time, as categorical columns, so each amount gets
an embedding too.

Each repeat also runs a bare PyTorch loop (the same TabularModel, loader and fused Adam, no
callbacks, no schedule) right after the Learner, so the Learner's overhead is a same-process ratio
that machine drift mostly cancels. fastai's figures come from ../shared/peers/results.json; with
--with-fastai the fastai recipe also runs now, alternating with ours, from the peers virtualenv.

Usage: python bench/tabular_adult.py [--repeats 3] [--bs 64 1024] [--with-fastai]
       [--accuracy-seeds 10] [--threads N]
Writes bench/results/tabular_adult.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from machine import cpu_info

import briskml as bm
from briskml.callbacks import Callback
from briskml.optim import adam
from briskml.persist import write_json
from briskml.tabular import TabularData, tabular_learner

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ADULT = SHARED / "data" / "adult" / "adult.csv"
SPLIT = SHARED / "splits" / "adult_valid_idx.json"
PEERS = SHARED / "peers"
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
RESULTS = Path(__file__).parent / "results" / "tabular_adult.json"
CAT_NAMES = ["workclass", "education", "marital-status", "occupation", "relationship", "race",
             "sex", "native-country"]
CONT_NAMES = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
EPOCHS, LR, SEED, PREDICT_ROWS = 5, 1e-2, 42, 10_000
# The variant that reaches the accuracy target: the two capital columns (a few hundred distinct
# amounts, mostly 0) also enter as categories (copies named <col>_cat), so the model gets an
# embedding per amount as well as the normalised number. (Doing the same for age, education-num
# and hours-per-week lowers accuracy: measured 0.858 against 0.865.)
ALSO_CATEGORICAL = ["capital-gain", "capital-loss"]


class EpochTimer(Callback):
    """Wall seconds of each epoch's training and validation passes, and rows trained."""

    order = 100
    run_during_lr_find = False

    def before_fit(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def before_epoch(self) -> None:
        self.epoch_start = time.perf_counter()
        self.rows = 0

    def before_train(self) -> None:
        self.train_start = time.perf_counter()

    def after_batch(self) -> None:
        if self.learn.training:
            self.rows += len(self.learn.targets)

    def after_train(self) -> None:
        self.train_seconds = time.perf_counter() - self.train_start

    def after_epoch(self) -> None:
        self.epochs.append({"epoch_s": time.perf_counter() - self.epoch_start,
                            "train_s": self.train_seconds, "train_rows": self.rows})


def load_adult() -> tuple[pd.DataFrame, list[int]]:
    df = pd.read_csv(ADULT, skipinitialspace=True)
    return df, json.loads(SPLIT.read_text())["valid_idx"]


def learner_run(df: pd.DataFrame, valid_idx: list[int], bs: int, seed: int = SEED,
                also_categorical: tuple[str, ...] = ()) -> dict:
    """The recipe through briskml, timed per epoch (`also_categorical`: the variant)."""
    start = time.perf_counter()
    copies = {f"{name}_cat": df[name] for name in also_categorical}
    data = TabularData.from_df(df.assign(**copies), y="salary",
                               cat_names=[*CAT_NAMES, *copies], cont_names=CONT_NAMES,
                               valid_idx=valid_idx, bs=bs)
    prepare_s = time.perf_counter() - start
    timer = EpochTimer()
    learn = tabular_learner(data, layers=[200, 100], metrics=bm.accuracy, seed=seed,
                            progress=False, callbacks=[timer])
    learn.fit_one_cycle(EPOCHS, LR)
    epochs = timer.epochs
    return {"valid_accuracy": learn.recorder.values[-1]["accuracy"],
            "epoch_s": [row["epoch_s"] for row in epochs],
            "epoch_s_mean": statistics.mean(row["epoch_s"] for row in epochs),
            "train_rows_per_s": sum(row["train_rows"] for row in epochs)
            / sum(row["train_s"] for row in epochs),
            "from_df_s": prepare_s, "learn": learn}


def bare_run(learn: bm.Learner, bs: int) -> dict:
    """A hand-written loop over a fresh copy of the same model, loader and fused Adam."""
    torch.manual_seed(SEED)
    model = type(learn.model)(learn.model.config)
    optimizer = adam([{"params": list(model.parameters())}])
    data = learn.data
    epoch_seconds = []
    for _ in range(EPOCHS):
        start = time.perf_counter()
        model.train()
        for cats, conts, targets in data.train:
            for param in model.parameters():
                param.grad = None
            loss = F.cross_entropy(model(cats, conts), targets)
            loss.backward()
            optimizer.step()
            loss.item()
        model.eval()
        with torch.no_grad():
            for cats, conts, targets in data.valid:
                F.cross_entropy(model(cats, conts), targets).item()
        epoch_seconds.append(time.perf_counter() - start)
    return {"epoch_s_mean": statistics.mean(epoch_seconds)}


def seed_sweep(df: pd.DataFrame, valid_idx: list[int], num_seeds: int,
               also_categorical: tuple[str, ...] = ()) -> dict:
    """Validation accuracy of the bs=1024 recipe for seeds 42, 0, 1, ... (the spread is ~0.001)."""
    seeds = [SEED, *range(num_seeds - 1)]
    runs = [learner_run(df, valid_idx, 1024, seed, also_categorical) for seed in seeds]
    accuracies = [run["valid_accuracy"] for run in runs]
    label = "with numbers also as categories" if also_categorical else "plain recipe"
    print(f"bs=1024 {label}, seeds {seeds}: accuracy mean {statistics.mean(accuracies):.4f}",
          flush=True)
    summary = {"seeds": seeds, "valid_accuracy": accuracies, "mean": statistics.mean(accuracies),
               "epoch_s_mean_runs": [run["epoch_s_mean"] for run in runs]}
    if len(seeds) > 1:
        summary["std_ddof1"] = statistics.stdev(accuracies)
    if also_categorical:
        summary["also_categorical"] = list(also_categorical)
    return summary


def predict_timings(learn: bm.Learner, df: pd.DataFrame, repeats: int = 7) -> dict:
    rows = df.iloc[:PREDICT_ROWS]
    learn.predict(rows)  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        learn.predict(rows)
        seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    learn.predict(df.iloc[0])
    one_row_s = time.perf_counter() - start
    return {"rows": len(rows), "seconds_median": statistics.median(seconds), "seconds": seconds,
            "one_row_seconds": one_row_s}


_FASTAI_CODE = """
import json, sys, warnings
import torch
torch.set_num_threads({threads})
warnings.filterwarnings("ignore")
sys.path.insert(0, {peers!r})
from adult_data import load_adult
from tabular_fastai import one_run
df, valid_idx, _ = load_adult()
r = one_run(df, valid_idx, {bs})
print(json.dumps({{k: r[k] for k in ("valid_accuracy", "epoch_s_mean", "train_rows_per_s")}}))
"""


def fastai_run(bs: int) -> dict | None:
    """The same recipe through fastai in the peers virtualenv (None when it is not installed),
    with as many torch threads as this process."""
    if not PEERS_PYTHON.exists():
        return None
    code = _FASTAI_CODE.format(peers=str(PEERS), bs=bs, threads=torch.get_num_threads())
    result = subprocess.run([str(PEERS_PYTHON), "-c", code], capture_output=True, text=True,
                            cwd=PEERS, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def fastai_reference() -> dict:
    """fastai's measured figures, read from ../shared/peers/results.json."""
    summary = json.loads((PEERS / "results.json").read_text())["tabular_fastai"]["summary"]
    return {key: {"valid_accuracy": value["valid_accuracy"][0],
                  "valid_accuracy_seed_mean": value["seed_sweep"]["mean"],
                  "epoch_s_mean_runs": value["epoch_s_mean"],
                  "train_rows_per_s_runs": value["train_rows_per_s"],
                  "infer_rows_per_s_runs": value["infer_rows_per_s"]}
            for key, value in summary.items()}


def summarise(runs: list[dict], bare: list[dict], fastai_now: list[dict], reference: dict,
              bs: int) -> dict:
    epoch_s = [run["epoch_s_mean"] for run in runs]
    ours = statistics.median(epoch_s)
    fastai_epochs = reference[f"bs{bs}"]["epoch_s_mean_runs"]
    summary = {
        "valid_accuracy": [run["valid_accuracy"] for run in runs],
        "epoch_s_mean_runs": epoch_s,
        "epoch_s_median": ours,
        "train_rows_per_s_runs": [run["train_rows_per_s"] for run in runs],
        "from_df_s_runs": [run["from_df_s"] for run in runs],
        "bare_loop_epoch_s_runs": [run["epoch_s_mean"] for run in bare],
        "learner_over_bare_loop_pct": 100 * (statistics.median(
            run["epoch_s_mean"] / base["epoch_s_mean"] for run, base in zip(runs, bare,
                                                                             strict=True)) - 1),
        "speedup_vs_fastai_reference": {"min": min(fastai_epochs) / ours,
                                        "max": max(fastai_epochs) / ours},
    }
    if fastai_now:
        summary["fastai_now"] = fastai_now
        summary["speedup_vs_fastai_now_median"] = statistics.median(
            other["epoch_s_mean"] / run["epoch_s_mean"] for run, other in zip(runs, fastai_now,
                                                                               strict=True))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bs", type=int, nargs="+", default=[64, 1024])
    parser.add_argument("--with-fastai", action="store_true",
                        help="also run fastai now (needs .venv-peers), alternating with briskml")
    parser.add_argument("--accuracy-seeds", type=int, default=0,
                        help="also train the bs=1024 recipe with this many seeds (42, 0, 1, ...)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice, as the peers measured)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if not ADULT.exists() or not SPLIT.exists():
        sys.exit(f"Needs {ADULT} and {SPLIT} (the shared data folder); not found.")
    loadavg_start = os.getloadavg()
    df, valid_idx = load_adult()
    reference = fastai_reference()
    results: dict = {}
    learn = None
    for bs in args.bs:
        runs, bare, fastai_now = [], [], []
        for repeat in range(args.repeats):
            run = learner_run(df, valid_idx, bs)
            learn = run.pop("learn")
            runs.append(run)
            bare.append(bare_run(learn, bs))
            if args.with_fastai:
                fastai_now.append(fastai_run(bs))
            print(f"bs={bs} repeat {repeat}: accuracy {run['valid_accuracy']:.4f}, "
                  f"{run['epoch_s_mean']:.3f} s/epoch (bare loop {bare[-1]['epoch_s_mean']:.3f})"
                  + (f", fastai {fastai_now[-1]['epoch_s_mean']:.3f}" if fastai_now else ""),
                  flush=True)
        results[f"bs{bs}"] = summarise(runs, bare, fastai_now, reference, bs)
    if args.accuracy_seeds > 1:
        results["bs1024_seed_sweep"] = seed_sweep(df, valid_idx, args.accuracy_seeds)
    results["bs1024_numbers_also_categorical"] = seed_sweep(
        df, valid_idx, max(args.accuracy_seeds, 1), tuple(ALSO_CATEGORICAL))
    prediction = predict_timings(learn, df)
    print(f"predict {prediction['rows']} rows: {prediction['seconds_median']:.4f} s", flush=True)
    write_results(args, results, prediction, reference, loadavg_start)


def write_results(args: argparse.Namespace, results: dict, prediction: dict, reference: dict,
                  loadavg_start: tuple[float, float, float]) -> None:
    command = "python bench/tabular_adult.py --repeats {} --bs {}{}{}{}".format(
        args.repeats, " ".join(map(str, args.bs)), " --with-fastai" if args.with_fastai else "",
        f" --accuracy-seeds {args.accuracy_seeds}" if args.accuracy_seeds > 1 else "",
        f" --threads {args.threads}" if args.threads is not None else "")
    document = {
        "command": command,
        "recipe": "TabularData.from_df(adult.csv read with skipinitialspace=True, y='salary', "
                  "8 cat + 6 cont columns, procs FillMissing/Categorify/Normalize, valid_idx from "
                  "../shared/splits/adult_valid_idx.json); tabular_learner(layers=[200, 100], "
                  "metrics=accuracy, seed=42); fit_one_cycle(5, 1e-2)",
        "results": results,
        "predict": prediction,
        "fastai_reference": reference,
        "targets": {"valid_accuracy_bs1024": 0.865, "speedup_vs_fastai_bs64": 5,
                    "speedup_vs_fastai_bs1024": 2, "predict_10000_rows_s": 0.2},
        "machine": {"cpu": cpu_info(),
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "torch": torch.__version__, "python": platform.python_version(),
                    "numpy": np.__version__, "pandas": pd.__version__,
                    "loadavg_1_5_15_at_start": [round(x, 2) for x in loadavg_start],
                    "loadavg_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()]},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS, document)  # atomic
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
