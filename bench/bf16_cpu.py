"""Is bfloat16 autocast worth it on this CPU? Matrix products and a Learner epoch, fp32 vs bf16.

bfloat16 is only fast on processors with native bfloat16 instructions (AVX-512 BF16, AMX); elsewhere
PyTorch emulates it. This measures, rather than assumes, what `learn.to_bf16()` does here.

Usage: python bench/bf16_cpu.py [--repeats 5]
Writes bench/results/bf16_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from machine import cpu_info

import briskml as bm
from briskml.persist import write_json

RESULTS = Path(__file__).parent / "results" / "bf16_cpu.json"


def matmul_gflops(dtype: torch.dtype, size: int, repeats: int) -> float:
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b  # warm-up
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(5):
            a @ b
        timings.append((time.perf_counter() - start) / 5)
    return 2 * size**3 / statistics.median(timings) / 1e9


def epoch_seconds(bf16: bool, repeats: int) -> float:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(16_384, 256, generator=generator)
    y = (x[:, :8].sum(dim=1) > 0).long()
    data = bm.DataLoaders(bm.TensorLoader(x, y, bs=512, shuffle=True), None)
    timings = []
    for _ in range(repeats):
        torch.manual_seed(0)
        model = bm.MLP(bm.MLPConfig(in_features=256, out_features=2, layers=(1024, 512)))
        learn = bm.Learner(data, model, progress=False)
        if bf16:
            learn.to_bf16()
        start = time.perf_counter()
        learn.fit(1, 1e-3)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    matmul = {str(dtype).removeprefix("torch."): matmul_gflops(dtype, 1024, args.repeats)
              for dtype in (torch.float32, torch.bfloat16)}
    epochs = {"float32": epoch_seconds(False, args.repeats),
              "bfloat16_autocast": epoch_seconds(True, args.repeats)}
    flags = Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0].split() \
        if Path("/proc/cpuinfo").exists() else []
    result = {
        "command": f"python bench/bf16_cpu.py --repeats {args.repeats}",
        "matmul_1024_gflops": matmul,
        "matmul_bf16_speedup": matmul["bfloat16"] / matmul["float32"],
        "mlp_epoch_seconds": epochs,
        "mlp_epoch_bf16_speedup": epochs["float32"] / epochs["bfloat16_autocast"],
        "workload": "MLP 256-1024-512-2, 16,384 rows, bs 512, one epoch of Learner.fit",
        "cpu_bf16_flags": sorted(f for f in flags if "bf16" in f or "amx" in f),
        "machine": {"cpu": cpu_info(),
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "python": platform.python_version()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS, result)  # atomic
    print(json.dumps({key: result[key] for key in
                      ("matmul_1024_gflops", "matmul_bf16_speedup", "mlp_epoch_seconds",
                       "mlp_epoch_bf16_speedup", "cpu_bf16_flags")}, indent=2))


if __name__ == "__main__":
    main()
