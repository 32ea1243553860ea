"""Exact pairs and nearest neighbours against numpy brute force, 10k to 1M.

Data: seeded "clustered" 64-bit hashes (95% drawn around 3,000 centres with
8 to 16 flipped bits, 5% near copies with 0 to 12 flips), the hard case for
multi-index hashing. Timed, wall clock, after a warm-up that compiles the
kernels: all pairs within 10 bits, and the 5 nearest of every hash. The
numpy baseline (blockwise np.bitwise_count) is run in full up to 100k and on
a sample of queries at 1M, scaled up (marked ~).

Usage: python benchmarks/pairs.py [--sizes 10000,100000,1000000]
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
    print(f"{'N':>9} {'task':<14}{'cattags s':>10}{'numpy s':>12}{'speed-up':>10}{'found':>12}")
    for n in sizes:
        codes = clustered(n)
        for task, fn, label in (
            ("pairs", numpy_pairs, "pairs <= 10"),
            ("nearest", numpy_nearest, "5 nearest"),
        ):
            seconds, found = ours[n, task]
            base, sampled = baseline(fn, codes, RADIUS if task == "pairs" else K)
            mark = "~" if sampled else ""
            shown = f"{found:,}" if task == "pairs" else ""
            print(
                f"{n:>9,} {label:<14}{seconds:>10.2f}{mark:>2}{base:>10.1f}"
                f"{base / seconds:>9.0f}x{shown:>12}"
            )


if __name__ == "__main__":
    main()
