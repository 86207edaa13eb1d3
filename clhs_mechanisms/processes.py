"""Worker processes for the two big stages (import and the suggestion pass), started safely.

Forks when this process has a single thread (fast: the workers inherit what is already loaded)
and spawns otherwise (the app runs jobs from a thread, and forking a threaded process can
deadlock); :func:`forking` says which, so callers can hand spawned workers what they must load.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any


def forking() -> bool:
    """True when :func:`pool` forks (this process has one thread and the platform can fork)."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def cpus() -> int:
    return os.cpu_count() or 1


def context() -> multiprocessing.context.BaseContext:
    """The start method :func:`pool` uses now; make locks shared with its workers from it."""
    return multiprocessing.get_context("fork" if forking() else "spawn")


def pool(
    workers: int,
    *,
    initializer: Callable | None = None,
    initargs: tuple = (),
    mp_context: multiprocessing.context.BaseContext | None = None,
) -> ProcessPoolExecutor:
    """A process pool of ``workers`` started by ``mp_context`` (default: :func:`context`); with
    fork, ``initargs`` reach the workers without pickling. Every worker dies with this process
    (:func:`_start_worker`)."""
    return ProcessPoolExecutor(
        workers,
        mp_context=mp_context or context(),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


ORPHAN_CHECK_SECONDS = 0.5


def _start_worker(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    """Run in each worker first: a daemon thread ends the worker as soon as its parent is gone (a
    kill -9 of the importing process or the app leaves no worker storing or sleeping on; a worker's
    unfinished transaction is rolled back by the database), then ``initializer``."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-check", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def map_in_order(
    fn: Callable,
    tasks: Sequence[tuple],
    workers: int,
    *,
    here: Callable | None = None,
    initializer: Callable | None = None,
    initargs: tuple = (),
    mp_context: multiprocessing.context.BaseContext | None = None,
) -> Iterator[Any]:
    """``fn(*task)`` for each task in ``workers`` processes (see :func:`pool`), results in task
    order, at most two per worker in flight. If the processes break (they could not start, or
    one was killed), the remaining tasks run here, with ``here`` (default ``fn``)."""
    executor = pool(workers, initializer=initializer, initargs=initargs, mp_context=mp_context)
    in_flight: deque[Future] = deque()
    finished = 0
    try:
        try:
            for task in tasks:
                in_flight.append(executor.submit(fn, *task))
                if len(in_flight) >= 2 * workers:
                    yield in_flight.popleft().result()
                    finished += 1
            while in_flight:
                yield in_flight.popleft().result()
                finished += 1
        except BrokenProcessPool:
            for task in tasks[finished:]:
                yield (here or fn)(*task)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
