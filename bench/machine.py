"""What every benchmark records about the machine it ran on: CPU model and flags, cores, threads,
library versions and load, so figures from machines of different kinds are never compared."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

# The flags that decide which kernels run: vector width, fused multiply-add, half precision.
_KERNEL_FLAGS = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
                 "avx512_fp16", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8")


def cpu_info() -> dict[str, Any]:
    """The CPU's model name and flags (all of them, and the kernel-relevant ones apart)."""
    model, flags = platform.processor() or platform.machine(), []
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
    return {"model": model, "kernel_flags": [flag for flag in _KERNEL_FLAGS if flag in flags],
            "flags": " ".join(flags)}


def describe_machine() -> dict[str, Any]:
    """The machine a benchmark ran on, as JSON-able values."""
    return {"cpu": cpu_info(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "loadavg_1_5_15": list(os.getloadavg())}
