"""Blockwise numpy brute force: the baselines the compiled Hamming search is
measured against (benchmarks/pairs.py) and checked against (tests/test_pairs.py)."""

from __future__ import annotations

import numpy as np

from ingest.search import as_codes


def numpy_pairs(codes: np.ndarray, max_distance: int, block: int = 512):
    """Blockwise numpy brute force: the baseline the compiled search is measured against."""
    codes = as_codes(codes)
    found_i, found_j, found_d = [], [], []
    for start in range(0, codes.shape[0], block):
        rows = codes[start : start + block, None]
        dist = np.bitwise_count(rows ^ codes[None, :])
        i, j = np.nonzero(dist <= max_distance)
        i = i + start
        keep = j > i
        found_i.append(i[keep])
        found_j.append(j[keep])
        found_d.append(dist[i[keep] - start, j[keep]].astype(np.int64))
    if not found_i:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    return np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_d)


def numpy_nearest(codes: np.ndarray, k: int, block: int = 512):
    """Blockwise numpy brute force k-NN (distances only), the benchmark baseline."""
    codes = as_codes(codes)
    n = codes.shape[0]
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        dist = np.bitwise_count(codes[start : start + block, None] ^ codes[None, :]).astype(
            np.int16
        )
        rows = np.arange(dist.shape[0])
        dist[rows, rows + start] = 999  # not itself
        part = np.partition(dist, k - 1, axis=1)[:, :k]
        out[start : start + block] = np.sort(part, axis=1)
    return out
