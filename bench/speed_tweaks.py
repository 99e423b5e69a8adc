"""Each hand-written speed tweak that briskml keeps, against the plain PyTorch way, side by side.

A tweak stays only while it measurably pays (at least 5 % on its benchmark); bench/README.md
lists the figures, including those of the tweaks that were measured and dropped.
- `Learner._zero_grad` (gradients set to None directly) against `optimizer.zero_grad()`, on the
  engine benchmark's workload (a tiny MLP, where per-batch overhead shows);
- keeping freed memory (`briskml.text.memory.keep_freed_memory`, a process-wide mallopt) against
  glibc's default, on the language-model benchmark (`--lm`, needs WikiText-2 beside the project);
- forked tokenizer workers inheriting the main process's warm engine (`set_process_engine` in
  briskml.text.tokenizer.workers) against each worker building its own, on the tokenizer
  benchmark (`--tokenizer`: 5,000 IMDb reviews, 2 workers, no cache, a fresh process each run).

Every repeat runs both variants back to back; the figure is the median over repeats of the plain
variant's time over the tweaked one's.

Usage: python bench/speed_tweaks.py [--repeats 15] [--lm] [--lm-batches 12] [--tokenizer]
Writes bench/results/speed_tweaks.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
from pathlib import Path

from machine import describe_machine

from briskml import learner as learner_module
from briskml.persist import write_json

RESULTS = Path(__file__).parent / "results" / "speed_tweaks.json"


def zero_grad_tweak(repeats: int) -> dict:
    """Seconds per iteration of Learner.fit with `_zero_grad` and with optimizer.zero_grad()."""
    import engine_overhead as engine

    data, model = engine.make_data(64), engine.make_model()
    tweaked = learner_module.Learner._zero_grad

    def per_iteration(plain: bool) -> float:
        if plain:
            learner_module.Learner._zero_grad = lambda self: self.opt.zero_grad(set_to_none=True)
        try:
            return engine.learner_fit(copy.deepcopy(model), data, 2, one_cycle=False)
        finally:
            learner_module.Learner._zero_grad = tweaked

    per_iteration(False), per_iteration(True)   # warm-up
    times: dict[str, list[float]] = {"tweaked": [], "plain": []}
    for _ in range(repeats):
        times["tweaked"].append(per_iteration(False))
        times["plain"].append(per_iteration(True))
    return {"workload": "engine_overhead.py's MLP 32-64-32-1, bs 64, Learner.fit(2)",
            "seconds_per_iteration": times,
            "plain_over_tweaked_median": statistics.median(
                plain / tweak for plain, tweak in zip(times["plain"], times["tweaked"],
                                                      strict=True))}


def lm_allocator(batches: int) -> dict | None:
    """Tokens/s of the small AWD-LSTM with freed memory kept, and in a child with glibc's
    default (the setting is process-wide and cannot be undone)."""
    import lm_throughput as bench

    if not bench.WIKI_TRAIN.exists():
        return None
    data, _, _ = bench.wikitext_data()
    runs = []
    for _ in range(2):
        runs.append({"allocator": "default", **bench.child_run("small", 2, batches)})
        runs.append({"allocator": "keep",
                     **bench.briskml_run(data, bench.CONFIGS["small"], "fp32", 2, batches)})
    keep = [run["steady_tokens_per_s"] for run in runs if run["allocator"] == "keep"]
    default = [run["steady_tokens_per_s"] for run in runs if run["allocator"] == "default"]
    return {"workload": "AWD-LSTM 200/400/2 on WikiText-2, bs 64, seq_len 72, float32",
            "tokens_per_s": {"keep": keep, "default": default},
            "keep_over_default": statistics.median(keep) / statistics.median(default)}


_TOKENIZE_RUN = """
import json, sys, time
import pandas as pd
from briskml.text import Tokenizer
from briskml.text.tokenizer import word
if sys.argv[2] == "plain":   # each worker builds its own engine, as it would without the global
    word.set_process_engine = lambda engine: None
texts = pd.read_csv(sys.argv[1], nrows=5000)["review"].tolist()
start = time.perf_counter()
Tokenizer().tokenize(texts, n_workers=2, cache=False)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def inherited_engine(repeats: int) -> dict | None:
    """Seconds to tokenise 5,000 reviews with 2 workers: inherited engine against fresh ones."""
    import subprocess

    import text_tokenize as bench

    if not bench.IMDB.exists():
        return None
    times: dict[str, list[float]] = {"tweaked": [], "plain": []}
    for _ in range(repeats):
        for variant in times:
            done = subprocess.run([sys.executable, "-c", _TOKENIZE_RUN, str(bench.IMDB), variant],
                                  capture_output=True, text=True, check=True, timeout=600)
            times[variant].append(json.loads(done.stdout.splitlines()[-1])["seconds"])
    return {"workload": "Tokenizer().tokenize(5,000 IMDb reviews, n_workers=2, cache=False)",
            "seconds": times,
            "plain_over_tweaked_median": statistics.median(
                plain / tweak for plain, tweak in zip(times["plain"], times["tweaked"],
                                                      strict=True))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--lm", action="store_true", help="also time the memory setting")
    parser.add_argument("--lm-batches", type=int, default=12)
    parser.add_argument("--tokenizer", action="store_true", help="also time the worker engine")
    args = parser.parse_args()
    result = {"command": "python bench/speed_tweaks.py " + " ".join(sys.argv[1:]),
              "machine": describe_machine(), "zero_grad": zero_grad_tweak(args.repeats)}
    if args.lm:
        result["keep_freed_memory"] = lm_allocator(args.lm_batches)
    if args.tokenizer:
        result["inherited_tokenizer_engine"] = inherited_engine(max(3, args.repeats // 3))
    result["loadavg_at_end"] = describe_machine()["loadavg_1_5_15"]
    write_json(RESULTS, result)
    print(json.dumps({key: value for key, value in result.items() if key != "machine"},
                     indent=1, default=str)[:3000])


if __name__ == "__main__":
    main()
