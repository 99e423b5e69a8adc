"""Run a function over a stream of tasks in worker processes, results in task order.

At most two tasks per worker are in flight, so a task stream read lazily from a huge file keeps
memory bounded. On Linux the workers are forked: they start in milliseconds and inherit the parent's
loaded spaCy and warm token tables, where spawning would re-import spaCy (seconds) in every worker.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from briskml.checks import check_non_negative_int
from briskml.errors import BriskError

Task = TypeVar("Task")
Result = TypeVar("Result")


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_workers(n_workers: int | None) -> int:
    """`n_workers` checked; None means every available core."""
    if n_workers is None:
        return available_cores()
    workers = check_non_negative_int(n_workers, "n_workers", "Use None for every core, or 0 or 1 "
                                     "to work in this process.")
    return max(1, workers)


def ordered_map(function: Callable[[Task], Result], tasks: Iterable[Task], n_workers: int,
                initializer: Callable[..., None], initargs: tuple[Any, ...] = ()
                ) -> Iterator[Result]:
    """Yield `function(task)` for each task, computed by `n_workers` processes, in task order."""
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(n_workers, mp_context=context, initializer=initializer,
                             initargs=initargs) as pool:
        in_flight: deque[Future] = deque()
        try:
            for task in tasks:
                in_flight.append(pool.submit(function, task))
                if len(in_flight) >= 2 * n_workers:
                    yield _result(in_flight.popleft())
            while in_flight:
                yield _result(in_flight.popleft())
        finally:
            for future in in_flight:
                future.cancel()


def _result(future: Future) -> Any:
    try:
        return future.result()
    except BrokenProcessPool as error:
        raise BriskError("A tokenizer worker process died (often: out of memory). Retry with "
                         "fewer workers (n_workers=1) or smaller chunks.") from error
