"""AWD-LSTM language-model training throughput on CPU: briskml against fastai, same machine.

WikiText-2 train (../shared/data/wikitext-2/train.txt) is split into its articles as the peers
script does (`../shared/peers/text_lm_fastai.py`: valid_pct=0.1, seed 42, min_freq 3, bs=64,
seq_len=72); each run trains fit_one_cycle(1, 2e-2) and times `--warmup` + `--batches` training
batches (wall time between consecutive batch ends, so data, forward, backward, AR/TAR, step and
callbacks all count), for the lessons' default configuration (emb 400, hid 1152, 3 layers) and
the small one (emb 200, hid 400, 2 layers), in float32 and under CPU bfloat16 autocast
(`learn.to_bf16()`).

The same script measures the float32 matrix-product peak (square 1024 and 2048 products) and
reports each run's achieved FLOP/s from the model's matmul FLOPs per trained token (forward x 3).
With the peers virtualenv (.venv-peers) present, fastai's AWD-LSTM runs the same recipe in
alternation with ours (peers script's `one_run`), once as is and once with the allocator setting
briskml applies (see briskml/text/memory.py), so the comparison shows where the gain comes from.
A bf16-vs-fp32 numerics check trains a tiny model on the same tokens in both precisions and
compares validation losses.

Usage: python bench/lm_throughput.py [--batches 20] [--warmup 2] [--no-fastai] [--quick]
       [--force-bf16]   (bf16 timing is skipped on CPUs without native bfloat16 unless forced)
Writes bench/results/lm_throughput.json. Targets (issue 6): >= fastai's tokens/s in float32 for
both configurations; >= 1.5x fastai's with CPU bfloat16; bf16 validation loss within 1% of fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_info

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
WIKI_TRAIN = SHARED / "data" / "wikitext-2" / "train.txt"
PEERS = SHARED / "peers"
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
RESULTS = Path(__file__).parent / "results" / "lm_throughput.json"
BS, SEQ_LEN, LR, SEED = 64, 72, 2e-2, 42
CONFIGS = {"default": {"emb_sz": 400, "n_hid": 1152, "n_layers": 3},
           "small": {"emb_sz": 200, "n_hid": 400, "n_layers": 2}}

FASTAI_SNIPPET = """
import json, sys, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, sys.argv[1])
if sys.argv[5] == "keep":
    import ctypes
    libc = ctypes.CDLL("libc.so.6"); libc.mallopt(-3, 1 << 30); libc.mallopt(-1, (1 << 31) - 1)
import os, tempfile, pandas as pd
import text_lm_fastai as peer
from fastai.text.all import TextDataLoaders, awd_lstm_lm_config, set_seed
peer.N_WARMUP, peer.N_MEASURE = int(sys.argv[3]), int(sys.argv[4])
docs, source = peer.load_docs()
set_seed(42, reproducible=True)
dls = TextDataLoaders.from_df(pd.DataFrame({"text": docs}), text_col="text", is_lm=True,
                              valid_pct=0.1, seed=42, bs=64, seq_len=72,
                              path=os.path.join(tempfile.gettempdir(), "peers_fastai_lm"))
sizes = json.loads(sys.argv[2])
config = None if sizes is None else dict(awd_lstm_lm_config, **sizes)
run = peer.one_run(dls, config, "fastai")
run["vocab_size"] = len(dls.vocab)
print(json.dumps(run))
"""


# ----- machine ---------------------------------------------------------------------------------
def matmul_gflops(size: int, repeats: int = 5) -> float:
    """Median float32 GFLOP/s of a square matrix product."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        timings.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(timings) / 1e9


def flops_per_token(sizes: dict, vocab_size: int) -> float:
    """Matmul FLOPs per trained token: forward (LSTM gates + decoder) x 3 for the backward."""
    from briskml.text import AWDLSTMConfig

    config = AWDLSTMConfig(vocab_size=vocab_size, **sizes)
    lstm = sum(2 * 4 * hidden * (inputs + hidden) for inputs, hidden in config.layer_sizes())
    return 3.0 * (lstm + 2 * config.emb_sz * vocab_size)


def native_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX)."""
    flags = Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0].split()
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


def machine() -> dict:
    import torch

    flags = Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0].split()
    return {"cpu": cpu_info(),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "avx512": sorted(f for f in flags if f.startswith("avx512")),
            "bf16_or_amx": sorted(f for f in flags if "bf16" in f or "amx" in f)}


# ----- briskml runs ---------------------------------------------------------------------------
def wikitext_data(max_vocab: int = 60000, bs: int = BS):
    import pandas as pd

    from briskml.text import TextData
    from briskml.text.pretrain import read_corpus

    documents = read_corpus(WIKI_TRAIN)
    start = time.perf_counter()
    data = TextData.from_df(pd.DataFrame({"text": documents}), "text", for_lm=True,
                            valid_pct=0.1, seed=SEED, bs=bs, seq_len=SEQ_LEN, min_freq=3,
                            max_vocab=max_vocab)
    return data, time.perf_counter() - start, len(documents)


def batch_timer(total: int):
    from briskml.callbacks import Callback, CancelFit

    class BatchTimer(Callback):
        order = 60

        def before_train(self) -> None:
            self.stamps, self.losses = [time.perf_counter()], []

        def after_batch(self) -> None:
            if not self.learn.training:
                return
            self.stamps.append(time.perf_counter())
            self.losses.append(self.learn.loss.item())
            self.shape = tuple(self.learn.inputs[0].shape)
            if len(self.stamps) - 1 >= total:
                raise CancelFit

    return BatchTimer()


def briskml_run(data, sizes: dict, precision: str, warmup: int, batches: int) -> dict:
    """Train one configuration for warmup + batches batches; tokens/s over the measured ones."""
    from briskml.text import language_model_learner

    learn = language_model_learner(data, config=sizes, seed=SEED, progress=False,
                                   path=tempfile.mkdtemp())
    if precision == "bf16":
        learn.to_bf16()
    timer = batch_timer(warmup + batches)
    start = time.perf_counter()
    learn.fit_one_cycle(1, LR, callbacks=[timer])
    total = time.perf_counter() - start
    steps = [b - a for a, b in zip(timer.stamps[:-1], timer.stamps[1:], strict=True)]
    steady = steps[warmup:]
    tokens = timer.shape[0] * timer.shape[1]
    return {"precision": precision, "batches_timed": len(steps),
            "batch_seconds": [round(s, 3) for s in steps], "steady_batches": len(steady),
            "steady_s_per_batch": sum(steady) / len(steady),
            "steady_tokens_per_s": tokens * len(steady) / sum(steady),
            "fit_call_total_s": total, "first_loss": timer.losses[0],
            "last_loss": timer.losses[-1],
            "n_params": sum(p.numel() for p in learn.model.parameters())}


# ----- fastai runs ----------------------------------------------------------------------------
def fastai_run(sizes: dict | None, allocator: str, warmup: int, batches: int) -> dict | None:
    """The peers script's one_run in the peers virtualenv; allocator 'keep' applies briskml's
    malloc setting first, 'default' leaves glibc as it is."""
    if not PEERS_PYTHON.exists():
        return None
    command = [str(PEERS_PYTHON), "-c", FASTAI_SNIPPET, str(PEERS), json.dumps(sizes),
               str(warmup), str(batches), allocator]
    result = subprocess.run(command, capture_output=True, text=True, timeout=7200, check=True)
    run = json.loads(result.stdout.strip().splitlines()[-1])
    run["allocator"] = allocator
    return run


# ----- bf16 numerics --------------------------------------------------------------------------
def bf16_numerics(batches: int) -> dict:
    """A tiny model trained on the same batches in float32 and bfloat16: validation losses."""
    from briskml.text import language_model_learner

    data, _, _ = wikitext_data(max_vocab=5000, bs=32)
    losses = {}
    for precision in ("fp32", "bf16"):
        learn = language_model_learner(data, config={"emb_sz": 64, "n_hid": 128, "n_layers": 2},
                                       seed=SEED, progress=False, path=tempfile.mkdtemp())
        if precision == "bf16":
            learn.to_bf16()
        start = time.perf_counter()
        learn.fit_one_cycle(1, LR, callbacks=[batch_timer(batches)])
        seconds = time.perf_counter() - start
        learn.to_fp32()
        valid = _valid_loss(learn, 20)
        losses[precision] = {"valid_loss_fp32_eval": valid, "train_seconds": seconds}
    ratio = losses["bf16"]["valid_loss_fp32_eval"] / losses["fp32"]["valid_loss_fp32_eval"]
    return {"setup": f"emb 64 / hid 128 / 2 layers, vocab {len(data.vocab)} (max_vocab 5000), "
                     f"bs 32 x seq_len {SEQ_LEN}, {batches} training batches of "
                     "fit_one_cycle(1, 2e-2) with the same seed; validation on the first 20 "
                     "valid batches, evaluated in float32",
            "runs": losses, "valid_loss_ratio_bf16_over_fp32": ratio,
            "within_1_percent": abs(ratio - 1) <= 0.01}


def _valid_loss(learn, num_batches: int) -> float:
    import itertools

    import torch

    learn.model.eval()
    learn.model.reset()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in itertools.islice(learn.data.valid, num_batches):
            loss = torch.nn.functional.cross_entropy(
                learn.model(x).reshape(-1, len(learn.vocab)), y.reshape(-1), reduction="sum")
            total, count = total + loss.item(), count + y.numel()
    return total / count


# ----- main -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--bf16-batches", type=int, default=2)
    parser.add_argument("--no-fastai", action="store_true")
    parser.add_argument("--quick", action="store_true", help="small config, few batches")
    parser.add_argument("--force-bf16", action="store_true",
                        help="time bf16 training even on a CPU without native bfloat16 (slow: "
                             "minutes per batch for the default configuration)")
    args = parser.parse_args()
    bf16_skipped = None
    if not native_bf16() and not args.force_bf16:
        bf16_skipped = ("this CPU has no native bfloat16 (no avx512_bf16/amx_bf16 flag): bf16 "
                        "matmuls run ~90x slower than float32 here (bench/bf16_cpu.py), so the "
                        "bf16 throughput runs are skipped; pass --force-bf16 to time them anyway")
        print(f"note: {bf16_skipped}", flush=True)
    configs = {"small": CONFIGS["small"]} if args.quick else CONFIGS
    load_start = os.getloadavg()
    peak = {f"matmul_{size}": matmul_gflops(size) for size in (1024, 2048)}
    data, build_seconds, num_documents = wikitext_data()
    print(f"WikiText-2: {num_documents} articles, {data}, built in {build_seconds:.1f} s",
          flush=True)
    runs = []
    for name, sizes in configs.items():
        per_token = flops_per_token(sizes, len(data.vocab))
        plans = [("briskml", "fp32", "keep"), ("fastai", "fp32", "default"),
                 ("briskml", "fp32", "default"), ("fastai", "fp32", "keep"),
                 ("briskml", "bf16", "keep")]
        for library, precision, allocator in plans:
            if library == "fastai" and args.no_fastai:
                continue
            if precision == "bf16" and bf16_skipped:
                continue
            run = measure(library, name, sizes, precision, allocator, data, args)
            if run is None:
                continue
            run["gflops_achieved"] = per_token * run["steady_tokens_per_s"] / 1e9
            runs.append(run)
            print(json.dumps({k: run[k] for k in ("library", "config", "precision", "allocator",
                                                  "steady_tokens_per_s", "gflops_achieved")}),
                  flush=True)
    peak["matmul_2048_after_runs"] = matmul_gflops(2048)
    result = {
        "command": "python bench/lm_throughput.py " + " ".join(sys.argv[1:]),
        "data": {"source": "wikitext-2/train.txt split into articles (as the peers script)",
                 "articles": num_documents, "vocab_size": len(data.vocab),
                 "train_tokens": data.train.num_tokens, "build_seconds": build_seconds,
                 "bs": BS, "seq_len": SEQ_LEN, "lr": LR},
        "matmul_fp32_gflops": peak,
        "flops_per_token": {name: flops_per_token(sizes, len(data.vocab))
                            for name, sizes in configs.items()},
        "runs": runs,
        "summary": summarise(runs),
        "bf16_throughput_skipped": bf16_skipped,
        "bf16_numerics": None if args.quick else bf16_numerics(30),
        "fastai_published": published_fastai(),
        "machine": machine(),
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
    }
    from briskml.persist import write_json

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS, result)  # atomic
    print(json.dumps(result["summary"], indent=2))


def measure(library: str, name: str, sizes: dict, precision: str, allocator: str, data,
            args: argparse.Namespace) -> dict | None:
    """One run, labelled; briskml's 'default' allocator runs in a child process without the
    setting (it cannot be undone in this process once applied)."""
    batches = args.bf16_batches if precision == "bf16" else args.batches
    warmup = 1 if precision == "bf16" else args.warmup
    if library == "fastai":
        fastai_sizes = None if name == "default" else sizes
        run = fastai_run(fastai_sizes, allocator, warmup, batches)
    elif allocator == "default":
        run = child_run(name, warmup, batches)
    else:
        run = briskml_run(data, sizes, precision, warmup, batches)
    if run is not None:
        run.update({"library": library, "config": name, "precision": precision,
                    "allocator": allocator, "loadavg_after": os.getloadavg()})
    return run


def child_run(name: str, warmup: int, batches: int) -> dict:
    """briskml float32 in a fresh process with BRISKML_KEEP_FREED_MEMORY=0."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import lm_throughput as bench; "
            "data, _, _ = bench.wikitext_data(); "
            "print(json.dumps(bench.briskml_run(data, bench.CONFIGS[sys.argv[2]], 'fp32', "
            "int(sys.argv[3]), int(sys.argv[4]))))")
    environment = {**os.environ, "BRISKML_KEEP_FREED_MEMORY": "0"}
    result = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), name,
                             str(warmup), str(batches)], capture_output=True, text=True,
                            env=environment, timeout=7200, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict]) -> dict:
    """tokens/s per (library, config, precision, allocator), and the ratios the targets use."""
    table = {f"{r['library']}/{r['config']}/{r['precision']}/{r['allocator']}":
             round(r["steady_tokens_per_s"], 1) for r in runs}
    ratios = {}
    for config in CONFIGS:
        fastai = table.get(f"fastai/{config}/fp32/default")
        if not fastai:
            continue
        for key in (f"briskml/{config}/fp32/keep", f"briskml/{config}/fp32/default",
                    f"briskml/{config}/bf16/keep"):
            if key in table:
                ratios[f"{key} vs fastai/{config}/fp32/default"] = round(table[key] / fastai, 3)
    return {"tokens_per_s": table, "ratios": ratios}


def published_fastai() -> dict | None:
    path = PEERS / "results.json"
    if not path.exists():
        return None
    peer = json.loads(path.read_text()).get("text_lm_fastai", {})
    return {"summary": peer.get("summary"), "vocab_size": peer.get("vocab_size"),
            "note": "measured by the peers script on the machine the issue describes; this "
                    "machine's runs are in `runs`"}


if __name__ == "__main__":
    main()
