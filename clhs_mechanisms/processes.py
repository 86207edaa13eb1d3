"""Worker processes for the two big stages (import and the suggestion pass), started safely.

Forks when this process has a single thread (fast: the workers inherit what is already loaded)
and spawns otherwise (the app runs jobs from a thread, and forking a threaded process can
deadlock); :func:`forking` says which, so callers can hand spawned workers what they must load.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator


def forking() -> bool:
    """True when :func:`pool` forks (this process has one thread and the platform can fork)."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def cpus() -> int:
    return os.cpu_count() or 1


def pool(workers: int, *, initializer: Callable | None = None, initargs: tuple = ()) -> ProcessPoolExecutor:
    """A process pool of ``workers``; with fork, ``initargs`` reach the workers without pickling."""
    context = multiprocessing.get_context("fork" if forking() else "spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs)


def in_order(executor: ProcessPoolExecutor, fn: Callable, tasks: Iterable[tuple], window: int) -> Iterator[Any]:
    """``fn(*task)`` for each task in ``executor``, results in task order, at most ``window`` in flight."""
    in_flight: deque[Future] = deque()
    for task in tasks:
        in_flight.append(executor.submit(fn, *task))
        if len(in_flight) >= window:
            yield in_flight.popleft().result()
    while in_flight:
        yield in_flight.popleft().result()
