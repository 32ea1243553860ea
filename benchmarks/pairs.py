"""Exact pairs and nearest neighbours against FAISS's exact binary index and
numpy brute force, 10k to 10M.

Data: seeded "clustered" 64-bit hashes (95% drawn around 3,000 centres with
8 to 16 flipped bits, 5% near copies with 0 to 12 flips), the hard case for
multi-index hashing. Timed, wall clock, after a warm-up that compiles the
kernels: all pairs within 10 bits, and the 5 nearest of every hash. The
baselines are FAISS's `IndexBinaryFlat` (range search and k-NN; its fastest
exact index for 64-bit codes, when faiss-cpu is installed) and numpy
(blockwise np.bitwise_count): each in full up to 100k and on a sample of
queries beyond, scaled up (marked ~); none beyond 1M.

Usage: python benchmarks/pairs.py [--sizes 10000,100000,1000000] (10000000 works:
about 1.2 GB and several minutes)
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np
from baselines import numpy_nearest, numpy_pairs  # benchmarks/baselines.py

from ingest.search import find_nearest, find_pairs

RADIUS = 10
K = 5
FULL_BASELINE_UP_TO = 100_000
SAMPLE = 2_000  # queries timed for the extrapolated baseline
BASELINES_UP_TO = 1_000_000  # no baseline beyond this many codes


def faiss_baseline(task: str, codes: np.ndarray) -> tuple[float, bool] | None:
    """FAISS IndexBinaryFlat's time for the task, in full or from a sample of queries."""
    try:
        import faiss
    except ImportError:
        return None
    n = codes.shape[0]
    raw = codes.astype(">u8").view(np.uint8).reshape(n, 8)  # faiss reads bytes, MSB first
    index = faiss.IndexBinaryFlat(64)
    index.add(raw)
    queries = raw if n <= FULL_BASELINE_UP_TO else raw[:SAMPLE]
    start = time.perf_counter()
    if task == "pairs":
        index.range_search(queries, RADIUS + 1)  # faiss: distance < radius
    else:
        index.search(queries, K + 1)  # each code finds itself too
    seconds = time.perf_counter() - start
    return (seconds, False) if len(queries) == n else (seconds * n / len(queries), True)


def clustered(n: int, seed: int = 1) -> np.ndarray:
    """Hashes around 3,000 centres plus planted near copies."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2**64, 3000, dtype=np.uint64)
    out = centres[rng.integers(0, 3000, n)]
    flips = rng.integers(8, 17, n)
    for step in range(16):
        bit = np.uint64(1) << rng.integers(0, 64, n).astype(np.uint64)
        out ^= np.where(step < flips, bit, np.uint64(0))
    copies = rng.choice(n, n // 20, replace=False)
    sources = rng.integers(0, n, n // 20)
    out[copies] = out[sources]
    extra = rng.integers(0, 13, n // 20)
    for step in range(12):
        bit = np.uint64(1) << rng.integers(0, 64, n // 20).astype(np.uint64)
        out[copies] ^= np.where(step < extra, bit, np.uint64(0))
    return out


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def baseline(fn, codes: np.ndarray, *args) -> tuple[float, bool]:
    """numpy brute force time: in full, or from a sample of query rows, scaled."""
    n = codes.shape[0]
    if n <= FULL_BASELINE_UP_TO:
        return timed(fn, codes, *args)[0], False
    rows = np.sort(np.random.default_rng(0).choice(n, SAMPLE, replace=False))
    start = time.perf_counter()
    for a in range(0, SAMPLE, 64):
        block = codes[rows[a : a + 64]]
        dist = np.bitwise_count(block[:, None] ^ codes[None, :])
        if fn is numpy_pairs:
            np.nonzero(dist <= args[0])
        else:
            np.partition(dist, args[0], axis=1)
    per_row = (time.perf_counter() - start) / SAMPLE
    return per_row * n, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    find_pairs(clustered(30_000), RADIUS)  # compile and cache the kernels
    find_nearest(clustered(2_000), K, method="mih")
    find_nearest(clustered(2_000), K, method="scan")
    sizes = [int(x) for x in args.sizes.split(",")]
    ours: dict[tuple[int, str], tuple[float, int]] = {}
    extra_mb = 0.0
    for n in sizes:  # cattags first, so its peak memory is not the baseline's
        codes = clustered(n)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        seconds, (i, _, _) = timed(find_pairs, codes, RADIUS)
        ours[n, "pairs"] = seconds, len(i)
        seconds, _ = timed(find_nearest, codes, K)
        ours[n, "nearest"] = seconds, 0
        extra_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"extra peak memory of both searches at N = {sizes[-1]:,}: {extra_mb:,.0f} MB")
    print("| N | task | cattags s | FAISS flat s | vs FAISS | numpy s | vs numpy | found |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        codes = clustered(n)
        for task, fn, label in (
            ("pairs", numpy_pairs, "pairs <= 10"),
            ("nearest", numpy_nearest, "5 nearest"),
        ):
            seconds, found = ours[n, task]
            cells = []
            if n <= BASELINES_UP_TO:
                for measured in (
                    faiss_baseline(task, codes),
                    baseline(fn, codes, RADIUS if task == "pairs" else K),
                ):
                    if measured is None:
                        cells += ["not installed", ""]
                        continue
                    base, sampled = measured
                    cells += [f"{'~' if sampled else ''}{base:.1f}", f"{base / seconds:.0f}x"]
            else:
                cells = ["", "", "", ""]
            shown = f"{found:,}" if task == "pairs" else ""
            print(f"| {n:,} | {label} | {seconds:.2f} | " + " | ".join(cells) + f" | {shown} |")


if __name__ == "__main__":
    main()
