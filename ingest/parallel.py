"""An ordered, bounded parallel map: results come back in input order and at
most `window` items are in flight, so memory does not grow with the input."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNK = 4  # files per task: fewer round trips to the workers
IN_FLIGHT_PER_WORKER = 16  # tasks queued per worker: a slow one never idles the others
PARENT_CHECK_SECONDS = 0.5  # how often a worker looks whether its parent is still there


MAX_WORKERS_PER_CORE = 4  # beyond this, more processes only cost memory (~30 MB each)


def worker_limit() -> int:
    """The most workers a run starts, whatever it is asked for."""
    return MAX_WORKERS_PER_CORE * default_workers()


def capped_workers(asked: int | None, files: int | None = None) -> int:
    """Workers for a run: as asked (every core by default), at most
    worker_limit(), and no more than there are tasks of CHUNK `files`."""
    workers = min(asked or default_workers(), worker_limit())
    if files is not None:
        workers = min(workers, max(1, -(-files // CHUNK)))
    return workers


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def iter_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    chunk: int = CHUNK,
    executor: Executor | None = None,
    lost: Callable[[T, Exception], R] | None = None,
) -> Iterator[tuple[T, R]]:
    """Yield (item, fn(item)) in input order, using `workers` processes, or
    `executor` (a cluster's) running `workers` tasks at once. `lost(item,
    error)` stands in for the results of a task the executor could not run
    (a worker gone for good); without it, the error is raised."""
    if workers <= 1 and executor is None:
        for item in items:
            yield item, fn(item)
        return
    if executor is not None:
        yield from _ordered(
            pool=executor, fn=fn, items=items, chunk=chunk, workers=workers, lost=lost
        )
        return
    from concurrent.futures import ProcessPoolExecutor  # loads multiprocessing: only here

    with ProcessPoolExecutor(
        max_workers=workers, initializer=exit_with_parent, initargs=(os.getpid(),)
    ) as pool:
        yield from _ordered(pool=pool, fn=fn, items=items, chunk=chunk, workers=workers, lost=lost)


def _ordered(
    pool: Executor,
    fn: Callable[[T], R],
    items: Iterable[T],
    chunk: int,
    workers: int,
    lost: Callable[[T, Exception], R] | None,
) -> Iterator[tuple[T, R]]:
    """iter_map's loop on a pool: batches submitted, results in order."""
    window = workers * IN_FLIGHT_PER_WORKER
    pending: deque[tuple[list[T], Future[list[R]]]] = deque()

    def results(batch: list[T], future: Future[list[R]]) -> Iterator[tuple[T, R]]:
        try:
            done = future.result()
        except Exception as error:  # noqa: BLE001 - handed to `lost`, or raised
            if lost is None:
                raise
            done = [lost(item, error) for item in batch]
        return zip(batch, done, strict=True)

    for batch in batched(items, chunk):
        pending.append((batch, pool.submit(_map_list, fn, batch)))
        if len(pending) >= window:
            yield from results(*pending.popleft())
    while pending:
        yield from results(*pending.popleft())


def exit_with_parent(parent: int) -> None:
    """In a worker: end this process soon after its parent is gone (killed with
    SIGKILL, say), instead of finishing a queue nobody will read."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _map_list(fn: Callable[[T], R], batch: list[T]) -> list[R]:
    return [fn(item) for item in batch]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` consecutive items."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
