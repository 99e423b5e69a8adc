"""Keep freed memory in the process, so large tensors do not cost page faults every batch.

A language model's logits are (batch x seq_len x vocab): 536 MB for bs=64, seq_len=72 and a
30,000-word vocabulary, with as much again for their gradient. glibc hands every block over
32 MB straight back to the kernel when it is freed, so each batch maps those pages afresh and the
kernel zeroes them one fault at a time, which slows the decoder and the loss on a CPU
(bench/lm_throughput.py measures it). Raising glibc's mmap and trim thresholds keeps freed blocks
for reuse, as PyTorch's own GPU allocator does; the process then holds on to its peak memory.

This is a process-wide setting: `set_malloc_option` is the one place it is made, and only
`keep_freed_memory` calls it (TextLearner does, for a model on the CPU). Set
BRISKML_KEEP_FREED_MEMORY=0 to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from typing import Any

ENV_SWITCH = "BRISKML_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_THRESHOLD_BYTES = 1 << 30  # blocks up to 1 GiB come from the reusable heap


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks up to 1 GiB for reuse, for the whole process (once per
    process; Linux with glibc only; TextLearner calls it for a model on the CPU).

    Returns whether the setting is in effect.
    """
    if os.environ.get(ENV_SWITCH, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    kept = set_malloc_option(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES)
    return set_malloc_option(_M_TRIM_THRESHOLD, 2 * _THRESHOLD_BYTES - 1) and kept


def set_malloc_option(option: int, value: int) -> bool:
    """The one place briskml calls glibc's mallopt(option, value): it changes the allocator of
    the whole process, not only this library's memory. False where there is no glibc."""
    mallopt = _glibc_mallopt()
    return mallopt is not None and mallopt(option, value) == 1


@functools.cache
def _glibc_mallopt() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt
