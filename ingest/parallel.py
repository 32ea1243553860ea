"""An ordered, bounded parallel map: results come back in input order and at
most `window` items are in flight, so memory does not grow with the input."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

IN_FLIGHT_PER_WORKER = 4  # enough to keep every core busy, little memory


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def iter_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[tuple[T, R]]:
    """Yield (item, fn(item)) in input order, using `workers` processes."""
    if workers <= 1:
        for item in items:
            yield item, fn(item)
        return
    window = workers * IN_FLIGHT_PER_WORKER
    pending: deque[tuple[T, Future[R]]] = deque()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= window:
                head, future = pending.popleft()
                yield head, future.result()
        while pending:
            head, future = pending.popleft()
            yield head, future.result()
