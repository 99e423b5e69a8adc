"""What checkpointing costs, and how much work a kill -9 loses.

1. Overhead at `Checkpoint(every_epochs=1)`, as a share of the epoch, for
   - the Adult tabular recipe (bench/tabular_adult.py: layers [200, 100], bs 64, the fixed
     validation rows), and
   - the CPU language model: AWD-LSTM 200/400/2, vocabulary 15,000, bs 64, seq_len 72, on
     `--wiki-fraction` of WikiText-2's articles.
   Each checkpoint write is timed where it happens (the callback's own write), in the same run as
   the epochs it follows, so machine drift cancels. Target: at most 3 % of an epoch.
2. Work lost on kill -9 with `every_minutes=1` on the language model: a child process trains
   with a batch timer and is killed after `--kill-after` seconds; lost work = the kill time minus
   the end of the batch the newest checkpoint holds. Target: at most one minute plus one batch.

Usage: python bench/resume.py [--wiki-fraction 0.1] [--kill-after 150]
Writes bench/results/resume.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import describe_machine

import briskml as bm
from briskml.callbacks import Callback
from briskml.persist import read_bundle, write_json

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
RESULTS = Path(__file__).parent / "results" / "resume.json"
LM_SIZES = {"emb_sz": 200, "n_hid": 400, "n_layers": 2}


class TimedCheckpoint(bm.Checkpoint):
    """A Checkpoint that records how long each write takes."""

    def before_fit(self) -> None:
        super().before_fit()
        self.write_seconds: list[float] = []

    def _save(self, at_epoch_end: bool) -> Path:
        start = time.perf_counter()
        path = super()._save(at_epoch_end)
        self.write_seconds.append(time.perf_counter() - start)
        return path


class EpochClock(Callback):
    """Wall seconds of each epoch's training and validation (before the checkpoint, order 70)."""

    order = 65

    def before_fit(self) -> None:
        self.seconds: list[float] = []

    def before_epoch(self) -> None:
        self.start = time.perf_counter()

    def after_epoch(self) -> None:
        self.seconds.append(time.perf_counter() - self.start)


def overhead(learn: bm.Learner, epochs: int, lr: float, folder: Path) -> dict:
    """Train with a timed checkpoint every epoch; the write time as a share of the epoch."""
    saver, clock = TimedCheckpoint(every_epochs=1, keep=2, path=folder), EpochClock()
    learn.fit_one_cycle(epochs, lr, callbacks=[saver, clock])
    size = saver.written[-1].stat().st_size
    epoch_s, write_s = statistics.median(clock.seconds), statistics.median(saver.write_seconds)
    return {"epochs": epochs, "epoch_s": clock.seconds, "write_s": saver.write_seconds,
            "checkpoint_mb": round(size / 1e6, 2),
            "overhead_pct": round(100 * write_s / epoch_s, 3), "target_pct": 3.0,
            "met": 100 * write_s / epoch_s <= 3.0}


def adult_learner(folder: Path) -> bm.Learner:
    sys.path.insert(0, str(Path(__file__).parent))
    from tabular_adult import CAT_NAMES, CONT_NAMES, load_adult

    df, valid_idx = load_adult()
    data = bm.tabular.TabularData.from_df(df, y="salary", cat_names=CAT_NAMES,
                                          cont_names=CONT_NAMES, valid_idx=valid_idx, bs=64)
    return bm.tabular_learner(data, layers=[200, 100], metrics=bm.accuracy, seed=42,
                              progress=False, path=folder)


def lm_learner(folder: Path, fraction: float) -> bm.Learner:
    import pandas as pd

    from briskml.text.pretrain import read_corpus

    documents = read_corpus(SHARED / "data" / "wikitext-2" / "train.txt")
    documents = documents[:max(10, int(len(documents) * fraction))]
    data = bm.text.TextData.from_df(pd.DataFrame({"text": documents}), "text", for_lm=True,
                                    valid_pct=0.1, seed=42, bs=64, seq_len=72, min_freq=3,
                                    max_vocab=15000)
    return bm.language_model_learner(data, config=LM_SIZES, seed=42, progress=False,
                                     path=folder)


class BatchLog(Callback):
    """Prints each training batch's end time (for the kill -9 measurement)."""

    def after_batch(self) -> None:
        if self.learn.training:
            print(f"batch {self.learn.train_iter} {time.time():.3f}", flush=True)


def child(folder: Path, fraction: float) -> None:
    """Train the language model for long, with a checkpoint every minute (killed by the parent)."""
    learn = lm_learner(folder, fraction)
    print("ready", flush=True)
    learn.fit_one_cycle(50, 5e-3, callbacks=[BatchLog(), bm.Checkpoint(
        every_epochs=None, every_minutes=1, keep=2, path="checkpoints")])


def lost_on_kill(fraction: float, kill_after: float) -> dict:
    """Kill -9 a training child after `kill_after` seconds of training; what did it lose?"""
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", folder, "--wiki-fraction", str(fraction)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        batch_ends: dict[int, float] = {}
        started = None
        for line in process.stdout:
            if line.startswith("ready"):
                started = time.time()
            elif line.startswith("batch"):
                _, number, when = line.split()
                batch_ends[int(number)] = float(when)
                if started is not None and time.time() - started >= kill_after:
                    break
        killed_at = time.time()
        process.send_signal(signal.SIGKILL)
        process.wait()
        newest = sorted((Path(folder) / "checkpoints").glob("checkpoint-*.safetensors"))[-1]
        _, meta = read_bundle(newest)
        resumes_at = meta["position"]["train_iter"]     # the next batch to train
        saved_batch_end = batch_ends[resumes_at - 1]
        ends = [batch_ends[number] for number in sorted(batch_ends)]
        batch_s = [later - earlier for earlier, later in itertools.pairwise(ends)]
        lost = killed_at - saved_batch_end
        return {"every_minutes": 1, "trained_s_before_kill": round(killed_at - started, 1),
                "batches_trained": len(batch_ends), "resumes_at_batch": resumes_at,
                "lost_s": round(lost, 2), "median_batch_s": round(statistics.median(batch_s), 3),
                "max_batch_s": round(max(batch_s), 3),
                "bound_s": round(60 + max(batch_s), 2), "met": lost <= 60 + max(batch_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wiki-fraction", type=float, default=0.1)
    parser.add_argument("--kill-after", type=float, default=150.0)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        os.chdir(args.child)
        child(Path(args.child), args.wiki_fraction)
        return
    result = {"machine": describe_machine(), "command": " ".join(["python", *sys.argv]),
              "torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as folder:
        result["adult_tabular"] = overhead(adult_learner(Path(folder)), 3, 1e-2,
                                           Path(folder) / "adult")
        print("adult:", json.dumps({k: v for k, v in result["adult_tabular"].items()
                                    if k != "epoch_s"}), flush=True)
        result["cpu_language_model"] = {
            "wiki_fraction": args.wiki_fraction, "sizes": LM_SIZES, "max_vocab": 15000,
            **overhead(lm_learner(Path(folder), args.wiki_fraction), 2, 5e-3,
                       Path(folder) / "lm")}
        print("lm:", json.dumps(result["cpu_language_model"]), flush=True)
    result["kill_9_language_model"] = lost_on_kill(args.wiki_fraction, args.kill_after)
    print("kill -9:", json.dumps(result["kill_9_language_model"]), flush=True)
    write_json(RESULTS, result)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
