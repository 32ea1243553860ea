"""Exact Hamming search over 64-bit hashes, the one owner of it: pairs within a
radius, k nearest, and the same for new hashes against all (incremental
ingest). `kernels.py` holds its
compiled loops and is used from here only; `nearby.py` stores the answers.

Every answer equals brute force exactly. Large inputs use multi-index hashing
(4 substrings of 16 bits, buckets in CSR arrays, compiled kernels); small
ones, and radii where MIH has no edge, use a compiled scan. Work is split
into blocks of queries run on every core by threads (the kernels release
the GIL).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial

import numpy as np

from . import kernels
from .core import MASK64
from .parallel import default_workers

BRUTE_PAIRS_BELOW = 20_000  # codes: below this a scan beats building the index
BRUTE_ACROSS_BELOW = 50_000_000  # code pairs: below this a scan of two sets wins
MIH_MAX_RADIUS = 14  # beyond this MIH probes nearly every bucket; scan instead
BRUTE_NEAREST_BELOW = 50_000  # codes: measured here, MIH k-NN wins from about this size
BLOCKS_PER_WORKER = 16  # query blocks per thread: even load, small outputs
NO_DISTANCE = kernels.NO_DISTANCE  # "no k-th neighbour yet"


def as_codes(hashes: Sequence[int] | np.ndarray) -> np.ndarray:
    """A uint64 array from uint64/int64 arrays or Python ints (signed or not)."""
    if isinstance(hashes, np.ndarray):
        if hashes.dtype == np.uint64:
            return np.ascontiguousarray(hashes)
        if hashes.dtype == np.int64:
            return np.ascontiguousarray(hashes).view(np.uint64)
    return np.array([int(h) & MASK64 for h in hashes], dtype=np.uint64)


@cache
def masks_by_weight() -> tuple[np.ndarray, np.ndarray]:
    """Every 16-bit mask ordered by popcount, and where each popcount ends."""
    values = np.arange(kernels.BUCKETS, dtype=np.int64)
    weights = np.bitwise_count(values.astype(np.uint16))
    order = np.argsort(weights, kind="stable")
    ends = np.searchsorted(weights[order], np.arange(kernels.CHUNK_BITS + 2), side="left")
    return values[order], ends.astype(np.int64)


def chunk_thresholds(radius: int) -> np.ndarray:
    """Per-chunk substring radii t with sum(t + 1) >= radius + 1, spread evenly.

    -1 means the chunk is not probed at all (radius 0 only needs one chunk).
    """
    total = radius + 1
    base, extra = divmod(total, kernels.CHUNKS)
    return np.array([base + (c < extra) - 1 for c in range(kernels.CHUNKS)], dtype=np.int64)


@dataclass
class Index:
    """Multi-index hashing tables: for each chunk, codes sorted by that chunk's key."""

    keys: np.ndarray  # (CHUNKS, N) uint16: the 16-bit substrings
    ids: np.ndarray  # (CHUNKS, N) int32: code indices in key order
    sorted_codes: np.ndarray  # (CHUNKS, N) codes in key order (contiguous reads)
    starts: np.ndarray  # (CHUNKS, BUCKETS + 1) where each key's bucket starts


def build_index(codes: np.ndarray) -> Index:
    """CSR buckets per 16-bit chunk."""
    n = codes.shape[0]
    keys = np.empty((kernels.CHUNKS, n), dtype=np.uint16)
    ids = np.empty((kernels.CHUNKS, n), dtype=np.int32)
    sorted_codes = np.empty((kernels.CHUNKS, n), dtype=np.uint64)
    starts = np.zeros((kernels.CHUNKS, kernels.BUCKETS + 1), dtype=np.int64)
    for c in range(kernels.CHUNKS):
        key = ((codes >> np.uint64(kernels.CHUNK_BITS * c)) & np.uint64(0xFFFF)).astype(np.uint16)
        keys[c] = key
        order = np.argsort(key, kind="stable")  # a radix sort for 16-bit keys
        ids[c] = order
        sorted_codes[c] = codes[order]
        np.cumsum(np.bincount(key, minlength=kernels.BUCKETS), out=starts[c, 1:])
    return Index(keys=keys, ids=ids, sorted_codes=sorted_codes, starts=starts)


def query_blocks(n: int, workers: int) -> list[tuple[int, int]]:
    """Split 0..n into even (start, stop) blocks, several per worker."""
    count = max(1, min(n, workers * BLOCKS_PER_WORKER))
    edges = np.linspace(0, n, count + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def run_tasks(tasks, workers: int) -> list:
    """Call each task (a kernel that releases the GIL) on `workers` threads."""
    if workers <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda task: task(), tasks))


def find_pairs(
    hashes: Sequence[int] | np.ndarray,
    max_distance: int,
    workers: int | None = None,
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unordered pair (i < j) within max_distance, exactly once.

    method: "auto", "mih" (multi-index hashing) or "scan" (compiled brute force).

    Returns (i, j, distance) sorted by (i, j): int32 indices, uint8 distances.
    """
    codes = as_codes(hashes)
    n = codes.shape[0]
    workers = workers or default_workers()
    if max_distance < 0 or n < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    radius = min(int(max_distance), 64)
    if method == "auto":
        method = "scan" if n < BRUTE_PAIRS_BELOW or radius > MIH_MAX_RADIUS else "mih"
    if method == "scan":
        # Triangular scan: split so that blocks hold similar numbers of pairs.
        edges = n - np.sqrt(np.linspace(1, 0, workers * BLOCKS_PER_WORKER + 1)) * n
        bounds = np.unique(edges.astype(np.int64).clip(0, n))
        tasks = [
            partial(kernels.pairs_brute_block, codes, codes, True, radius, int(a), int(b))
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
    else:
        index = build_index(codes)
        tasks = mih_join_tasks(left=index, right=index, same=True, radius=radius, workers=workers)
    return kernels.sort_pairs(*gathered(run_tasks(tasks, workers)), n)


def mih_join_tasks(left: Index, right: Index, same: bool, radius: int, workers: int) -> list:
    """The multi-index join of two indexes (or of one with itself, `same`),
    as tasks over each probed chunk's key blocks."""
    masks, ends = masks_by_weight()
    thresholds = chunk_thresholds(radius)
    sides = (left.ids, left.sorted_codes, left.starts, right.ids, right.sorted_codes, right.starts)
    return [
        partial(kernels.pairs_mih_block, *sides, same, c, thresholds, masks, ends, radius, lo, hi)
        for c in range(kernels.CHUNKS)
        if thresholds[c] >= 0
        for lo, hi in query_blocks(kernels.BUCKETS, workers)
    ]


def gathered(parts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (i, j, distance) arrays of every task, end to end (int32, int32, uint8)."""
    if not parts:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.uint8)
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def find_pairs_across(
    first: np.ndarray,
    second: np.ndarray,
    max_distance: int,
    workers: int | None = None,
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (i, j, distance) with first[i] and second[j] within max_distance,
    exactly once; unsorted. method: "auto", "mih" or "scan"."""
    a, b = as_codes(first), as_codes(second)
    workers = workers or default_workers()
    radius = min(int(max_distance), 64)
    if radius < 0 or not len(a) or not len(b):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    if method == "auto":
        small = len(a) * len(b) < BRUTE_ACROSS_BELOW
        method = "scan" if small or radius > MIH_MAX_RADIUS else "mih"
    if method == "scan":
        tasks = [
            partial(kernels.pairs_brute_block, a, b, False, radius, lo, hi)
            for lo, hi in query_blocks(len(a), workers)
        ]
    else:
        tasks = mih_join_tasks(
            left=build_index(a), right=build_index(b), same=False, radius=radius, workers=workers
        )
    return tuple(part.astype(np.int64) for part in gathered(run_tasks(tasks, workers)))


def find_nearest(
    hashes: Sequence[int] | np.ndarray,
    k: int,
    workers: int | None = None,
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other hashes of every hash: (indices, distances), shape (N, k).

    Rows are sorted by distance, ties by index; an equal hash at another index
    counts (distance 0). Where there are fewer than k others, the row is
    padded with index -1 and distance -1. Indices are int32, distances int8.
    method: "auto", "mih" or "scan".
    """
    codes = as_codes(hashes)
    n = codes.shape[0]
    workers = workers or default_workers()
    if k <= 0 or n < 2:
        return np.full((n, max(k, 0)), -1, dtype=np.int32), np.full((n, max(k, 0)), -1, np.int8)
    width = min(k, n - 1)
    # Narrow working arrays (int32 indices, uint8 distances): at a million
    # codes they are the search's largest allocations after the index.
    best_i = np.empty((n, width), dtype=np.int32)
    best_d = np.empty((n, width), dtype=np.uint8)
    if method == "auto":
        method = "scan" if n < BRUTE_NEAREST_BELOW else "mih"
    if method == "scan":
        none = np.empty(0, dtype=np.int64)
        tasks = [
            partial(
                kernels.nearest_brute_block,
                codes,
                np.arange(a, b),
                width,
                best_i[a:b],
                best_d[a:b],
                none,
                none,
                True,
            )
            for a, b in query_blocks(n, workers)
        ]
        run_tasks(tasks, workers)
    else:
        _nearest_mih(codes=codes, k=width, workers=workers, best_i=best_i, best_d=best_d)
    distance = best_d.view(np.int8)  # every row is full: distances 0..64, no copy
    if width == k:
        return best_i, distance
    out_i = np.full((n, k), -1, dtype=np.int32)
    out_d = np.full((n, k), -1, dtype=np.int8)
    out_i[:, :width], out_d[:, :width] = best_i, distance
    return out_i, out_d


def _nearest_mih(codes, k, workers, best_i, best_d) -> None:
    """Ring search, level by level and chunk by chunk.

    Once chunks 0..c are searched to substring radius s and the later ones to
    s - 1, the generalised pigeonhole principle says every code within
    CHUNKS * s + c bits has been found; queries whose k-th distance is within
    that are done, without waiting for the rest of the level."""
    index = build_index(codes)
    masks, ends = masks_by_weight()
    best_d[:] = kernels.NO_DISTANCE
    best_i[:] = -1
    active = np.ones(codes.shape[0], dtype=np.bool_)
    blocks = query_blocks(codes.shape[0], workers)
    for s in range(kernels.CHUNK_BITS + 1):
        for c in range(kernels.CHUNKS):
            tasks = [
                partial(
                    kernels.nearest_mih_phase,
                    codes,
                    index.keys,
                    index.ids,
                    index.sorted_codes,
                    index.starts,
                    c,
                    masks,
                    ends[s],
                    ends[s + 1],
                    active,
                    best_d,
                    best_i,
                    a,
                    b,
                )
                for a, b in blocks
            ]
            run_tasks(tasks, workers)
            active &= best_d[:, k - 1] > kernels.CHUNKS * s + c
            if not active.any():
                return


def nearest_for_new(
    codes: np.ndarray,
    new: np.ndarray,
    k: int,
    kth_d: np.ndarray,
    kth_i: np.ndarray,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
    """The k nearest of each new code among all, and every (old, new, distance)
    where a new code enters an old code's top k (kth_d, kth_i: each old code's
    k-th neighbour so far; -1 for the new ones)."""
    workers = workers or default_workers()
    best_i = np.empty((len(new), k), dtype=np.int64)
    best_d = np.empty((len(new), k), dtype=np.int64)
    tasks = [
        partial(
            kernels.nearest_brute_block,
            codes,
            new[a:b],
            k,
            best_i[a:b],
            best_d[a:b],
            kth_d,
            kth_i,
            True,
        )
        for a, b in query_blocks(len(new), workers)
    ]
    hits = run_tasks(tasks, workers)
    entered = [
        (int(old), int(query), int(d)) for part in hits for old, query, d in zip(*part, strict=True)
    ]
    return best_i, best_d, entered


def pairs_for_new(
    codes: np.ndarray, new: np.ndarray, radius: int, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (smaller index, larger) of a new code and any code within radius."""
    workers = workers or default_workers()
    tasks = [
        partial(kernels.pairs_against_block, codes, new[a:b], radius)
        for a, b in query_blocks(len(new), workers)
    ]
    parts = run_tasks(tasks, workers)
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    a = np.concatenate([part[0] for part in parts])
    b = np.concatenate([part[1] for part in parts])
    return np.minimum(a, b), np.maximum(a, b)
