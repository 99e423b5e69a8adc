"""Word tokenisation throughput on IMDb: briskml's Tokenizer against fastai's, same machine.

Tokenises the first 5,000 and all 50,000 reviews of ../shared/data/imdb/imdb_50k.csv with 2
workers (and 1 for reference): documents and tokens per second, peak memory, then the cached
second run. Each measurement runs in a fresh process, so peak memory and start-up costs are its
own. With the peers virtualenv (.venv-peers, fastai 2.8.12) present, fastai's `tokenize_df` runs
on the first 5,000 in alternation with ours, so both see the same machine load. The special-token
counts and review 0's first 60 tokens are compared with fastai's published ones.

Usage: python bench/text_tokenize.py [--repeats 2] [--sizes 5000 50000] [--no-fastai]
Writes bench/results/text_tokenize.json. Targets (issue 5): >= 2x fastai's reviews/s with 2 workers
on 5,000 reviews (3x stretch); cached reload of the 50,000 tokenised reviews < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_info

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IMDB = SHARED / "data" / "imdb" / "imdb_50k.csv"
PEERS_RESULTS = SHARED / "peers" / "results.json"
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
RESULTS = Path(__file__).parent / "results" / "text_tokenize.json"
SPECIALS = ("xxbos", "xxmaj", "xxup", "xxrep", "xxwrep", "xxunk", "xxfld")

FASTAI_SNIPPET = """
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from fastai.text.all import tokenize_df
df = pd.read_csv(sys.argv[1], nrows=int(sys.argv[2]))
df = pd.DataFrame({"text": df["review"].astype(str)})
start = time.perf_counter()
out, counter = tokenize_df(df, "text", n_workers=int(sys.argv[3]))
seconds = time.perf_counter() - start
tokens = int(out["text_length"].sum())
print(json.dumps({"seconds": seconds, "docs": len(df), "tokens": tokens,
                  "peak_rss_mb_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_rss_mb_workers":
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


# ----- one measurement, in its own process -------------------------------------------------------
def measure(num_docs: int, mode: str, n_workers: int, cache_dir: str) -> dict:
    """Tokenise the first `num_docs` reviews once; mode: cold (no cache), write, cached."""
    os.environ["BRISKML_CACHE"] = cache_dir
    import pandas as pd

    from briskml.text import Tokenizer

    texts = pd.read_csv(IMDB, nrows=num_docs)["review"].tolist()
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    corpus = Tokenizer().tokenize(texts, n_workers=n_workers, cache=mode != "cold")
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "docs": len(corpus), "tokens": corpus.num_tokens,
              "distinct_tokens": len(corpus.tokens), "baseline_rss_mb": baseline_mb,
              "peak_rss_mb_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "peak_rss_mb_workers":
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    if mode == "cold" and num_docs == 5000:
        result["special_token_counts"] = special_counts(corpus)
        result["first_60_tokens_review0"] = corpus[0][:60]
    return result


def special_counts(corpus) -> dict[str, int]:
    counts = corpus.counts()
    index = {token: i for i, token in enumerate(corpus.tokens)}
    return {token: int(counts[index[token]]) if token in index else 0 for token in SPECIALS}


def run_child(num_docs: int, mode: str, n_workers: int, cache_dir: str) -> dict:
    command = [sys.executable, __file__, "--measure", str(num_docs), mode, str(n_workers),
               cache_dir]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_fastai(num_docs: int, n_workers: int) -> dict:
    command = [str(PEERS_PYTHON), "-c", FASTAI_SNIPPET, str(IMDB), str(num_docs), str(n_workers)]
    output = subprocess.run(command, check=True, capture_output=True, text=True,
                            cwd=tempfile.gettempdir()).stdout
    return json.loads(output.strip().splitlines()[-1])


# ----- the whole benchmark -----------------------------------------------------------------------
def with_rates(run: dict) -> dict:
    return {**run, "docs_per_s": run["docs"] / run["seconds"],
            "tokens_per_s": run["tokens"] / run["seconds"]}


def summary(runs: list[dict]) -> dict:
    seconds = [run["seconds"] for run in runs]
    best = min(runs, key=lambda run: run["seconds"])
    return {"best_seconds": min(seconds), "median_seconds": statistics.median(seconds),
            "best_docs_per_s": best["docs"] / best["seconds"],
            "best_tokens_per_s": best["tokens"] / best["seconds"],
            "peak_rss_mb_main": max(run["peak_rss_mb_main"] for run in runs),
            "peak_rss_mb_workers": max(run["peak_rss_mb_workers"] for run in runs),
            "runs": [with_rates(run) for run in runs]}


def benchmark_size(num_docs: int, repeats: int, fastai: bool) -> dict:
    ours: dict[str, list[dict]] = {"workers_2": [], "workers_1": []}
    theirs: list[dict] = []
    for _ in range(repeats):  # alternate the contenders so both see the same machine load
        with tempfile.TemporaryDirectory() as cache:
            ours["workers_2"].append(run_child(num_docs, "cold", 2, cache))
        if fastai:
            theirs.append(run_fastai(num_docs, 2))
        with tempfile.TemporaryDirectory() as cache:
            ours["workers_1"].append(run_child(num_docs, "cold", 1, cache))
    cache = tempfile.mkdtemp(prefix="bench_tokens_")
    try:
        write = run_child(num_docs, "write", 2, cache)
        cached = [run_child(num_docs, "cached", 2, cache) for _ in range(repeats)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    result = {name: summary(runs) for name, runs in ours.items()}
    result["first_run_writing_cache"] = with_rates(write)
    result["cached_second_run"] = summary(cached)
    if theirs:
        result["fastai_same_conditions_workers_2"] = summary(theirs)
        result["speedup_vs_fastai_same_conditions"] = (
            result["fastai_same_conditions_workers_2"]["best_seconds"]
            / result["workers_2"]["best_seconds"])
    return result


def compare_with_fastai(ours_5000: dict) -> dict:
    """Special-token counts and review 0's first tokens against fastai's published ones."""
    published = json.loads(PEERS_RESULTS.read_text())["text_tokenize_fastai"]
    run = ours_5000["workers_2"]["runs"][0]
    ours_tokens = run["first_60_tokens_review0"]
    fastai_tokens = published["first_60_tokens_review0"]
    fastai_rates = [r["docs_per_s"] for r in published["word_tokenizer_spacy"]["n_workers_2"]]
    return {
        "fastai_published_docs_per_s_workers_2": fastai_rates,
        "speedup_vs_fastai_published_best": run_best(ours_5000) / max(fastai_rates),
        "special_token_counts": {"briskml": run["special_token_counts"],
                                 "fastai": published["special_token_counts_in_5000_docs"]},
        "total_tokens": {"briskml": run["tokens"], "fastai": published["word_tokenizer_spacy"]
                         ["n_workers_2"][0]["tokens"]},
        "review0_first_60": {"briskml": " ".join(ours_tokens),
                             "fastai": " ".join(fastai_tokens),
                             "identical": ours_tokens == fastai_tokens},
    }


def run_best(result: dict) -> float:
    return result["workers_2"]["best_docs_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--no-fastai", action="store_true")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        num_docs, mode, n_workers, cache_dir = args.measure
        print(json.dumps(measure(int(num_docs), mode, int(n_workers), cache_dir)))
        return
    if not IMDB.is_file():
        raise SystemExit(f"{IMDB} is missing; this benchmark needs the shared IMDb data.")
    fastai = not args.no_fastai and PEERS_PYTHON.is_file()
    load_before = os.getloadavg()
    results = {f"reviews_{size}": benchmark_size(size, args.repeats, fastai and size == 5000)
               for size in args.sizes}
    report = {
        "command": "python bench/text_tokenize.py " + " ".join(sys.argv[1:]),
        "dataset": str(IMDB.relative_to(SHARED.parent)),
        "machine": {"cpu": cpu_info(),
                    "cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "note": ("Wall-clock seconds, each run in a fresh process (start-up of the worker pool "
                 "included, imports and CSV reading excluded). Peak RSS: main process and largest "
                 "worker. Absolute timings drift on a shared VM (see the load averages); the "
                 "same-conditions fastai runs give the fairer ratio."),
        **results,
    }
    if "reviews_5000" in results and PEERS_RESULTS.is_file():
        report["comparison_with_fastai"] = compare_with_fastai(results["reviews_5000"])
    from briskml.persist import write_json

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS, report)  # atomic
    print(json.dumps({key: value for key, value in report.items() if key != "machine"},
                     indent=2)[:4000])


if __name__ == "__main__":
    main()
