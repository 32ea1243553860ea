"""Compiled Hamming-distance kernels (numba), compiled once and cached on disk.

Every kernel works on uint64 codes and releases the GIL, so the callers in
`pairs.py` run blocks of queries on every core with plain threads.
"""

from __future__ import annotations

import numpy as np

from .jit import intrinsic, njit, types

CHUNKS = 4  # 64-bit codes in 4 substrings of 16 bits: best at 100k to 1M codes
CHUNK_BITS = 16
BUCKETS = 1 << CHUNK_BITS
NO_DISTANCE = 255  # "no neighbour yet": larger than any 64-bit distance
TILE = 2048  # codes scanned per step: 16 KB, stays in the L1 cache


@intrinsic
def popcount(typingctx, value):
    """One machine popcount instruction."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@njit(nogil=True, cache=True)
def _grow(array, size):
    bigger = np.empty(max(16, size * 2), dtype=array.dtype)
    bigger[: array.shape[0]] = array
    return bigger


@njit(nogil=True, cache=True)
def _push(out_a, out_b, out_d, n, a, b, d):
    """Store (a, b, d) at position n of three growable output arrays."""
    if n == out_a.shape[0]:
        out_a = _grow(out_a, n)
        out_b = _grow(out_b, n)
        out_d = _grow(out_d, n)
    out_a[n] = a
    out_b[n] = b
    out_d[n] = d
    return out_a, out_b, out_d


@njit(nogil=True, cache=True)
def _insert(best_d, best_i, d, j):
    """Put (d, j) into a row sorted by (distance, index); the worst falls off."""
    k = best_d.shape[0]
    pos = k - 1
    while pos > 0 and (best_d[pos - 1] > d or (best_d[pos - 1] == d and best_i[pos - 1] > j)):
        best_d[pos] = best_d[pos - 1]
        best_i[pos] = best_i[pos - 1]
        pos -= 1
    best_d[pos] = d
    best_i[pos] = j


@njit(nogil=True, cache=True)
def _beats(best_d, best_i, d, j):
    k = best_d.shape[0]
    return d < best_d[k - 1] or (d == best_d[k - 1] and j < best_i[k - 1])


@njit(nogil=True, cache=True)
def _present(best_i, j):
    for t in range(best_i.shape[0]):
        if best_i[t] == j:
            return True
    return False


@njit(nogil=True, cache=True)
def _first_chunk(difference, thresholds, chunk):
    """True if no chunk before `chunk` meets its threshold for this XOR of two codes."""
    for c in range(chunk):
        part = (difference >> np.uint64(CHUNK_BITS * c)) & np.uint64(BUCKETS - 1)
        if popcount(part) <= thresholds[c]:
            return False
    return True


@njit(nogil=True, cache=True)
def pairs_mih_block(
    a_ids,
    a_codes,
    a_starts,
    b_ids,
    b_codes,
    b_starts,
    same,
    chunk,
    thresholds,
    masks,
    mask_ends,
    radius,
    key_lo,
    key_hi,
):
    """(a, b, distance) within `radius`, through the buckets `key` in
    key_lo..key_hi of set A's `chunk` and the buckets of set B within that
    chunk's threshold; `same`: A and B are one set (its index given twice).

    Within one set each unordered pair of buckets is joined once, from its
    smaller key (and a bucket with itself as a triangle), so every candidate
    pair is checked once, not once from each side, and comes out as (smaller
    index, larger). A pair is kept by the first chunk whose threshold it
    meets (the generalised pigeonhole principle makes some chunk meet it
    whenever the distance is within the radius), so it is emitted exactly once.
    """
    out_i = np.empty(1024, dtype=np.int32)
    out_j = np.empty(1024, dtype=np.int32)
    out_d = np.empty(1024, dtype=np.uint8)
    n = 0
    probes = mask_ends[thresholds[chunk] + 1] if thresholds[chunk] >= 0 else 0
    limit = np.uint64(radius)
    codes, others = a_codes[chunk], b_codes[chunk]
    a_order, b_order = a_ids[chunk], b_ids[chunk]
    a_bounds, b_bounds = a_starts[chunk], b_starts[chunk]
    for key in range(key_lo, key_hi):
        a_lo, a_hi = a_bounds[key], a_bounds[key + 1]
        if a_lo == a_hi:
            continue
        for m in range(probes):
            bucket = key ^ masks[m]
            if same and bucket < key:
                continue
            # Buckets lie in key order, so every code of a later bucket comes
            # after every code of this one; within one bucket, take p < y.
            b_hi = b_bounds[bucket + 1]
            triangle = same and bucket == key
            for x in range(a_lo, a_hi, 4):
                # Four codes against each candidate: one cheap test rejects most.
                last = min(x + 4, a_hi) - 1
                code0, code1 = codes[x], codes[min(x + 1, last)]
                code2, code3 = codes[min(x + 2, last)], codes[last]
                for y in range(x + 1 if triangle else b_bounds[bucket], b_hi):
                    other = others[y]
                    if (
                        popcount(code0 ^ other) > limit
                        and popcount(code1 ^ other) > limit
                        and popcount(code2 ^ other) > limit
                        and popcount(code3 ^ other) > limit
                    ):
                        continue
                    for p in range(x, min(last + 1, y) if triangle else last + 1):
                        difference = codes[p] ^ other
                        d = popcount(difference)
                        if d > limit or not _first_chunk(difference, thresholds, chunk):
                            continue
                        first, second = a_order[p], b_order[y]
                        if same and first > second:
                            first, second = second, first
                        out_i, out_j, out_d = _push(out_i, out_j, out_d, n, first, second, d)
                        n += 1
    return out_i[:n], out_j[:n], out_d[:n]


@njit(nogil=True, cache=True)
def sort_pairs(out_i, out_j, out_d, n):
    """Pairs (i, j, d) sorted by (i, j) in linear time: placed by i, then each
    (short) run of one i sorted by j."""
    starts = np.zeros(n + 1, dtype=np.int64)
    for t in range(out_i.shape[0]):
        starts[out_i[t] + 1] += 1
    for v in range(n):
        starts[v + 1] += starts[v]
    fill = starts[:-1].copy()
    sorted_i = np.empty_like(out_i)
    sorted_j = np.empty_like(out_j)
    sorted_d = np.empty_like(out_d)
    for t in range(out_i.shape[0]):
        pos = fill[out_i[t]]
        fill[out_i[t]] += 1
        sorted_i[pos] = out_i[t]
        sorted_j[pos] = out_j[t]
        sorted_d[pos] = out_d[t]
    for v in range(n):
        lo, hi = starts[v], starts[v + 1]
        if hi - lo > 32:
            order = np.argsort(sorted_j[lo:hi]) + lo
            sorted_j[lo:hi] = sorted_j[order]
            sorted_d[lo:hi] = sorted_d[order]
        else:  # insertion sort: runs are mostly a few pairs long
            for t in range(lo + 1, hi):
                j, d = sorted_j[t], sorted_d[t]
                pos = t
                while pos > lo and sorted_j[pos - 1] > j:
                    sorted_j[pos] = sorted_j[pos - 1]
                    sorted_d[pos] = sorted_d[pos - 1]
                    pos -= 1
                sorted_j[pos] = j
                sorted_d[pos] = d
    return sorted_i, sorted_j, sorted_d


@njit(nogil=True, cache=True)
def _distances(code, codes, first, last, out):
    """out[t] = distance(code, codes[first + t]): a branch-free, vectorised loop."""
    for t in range(last - first):
        out[t] = popcount(code ^ codes[first + t])


@njit(nogil=True, cache=True)
def pairs_brute_block(a_codes, b_codes, same, radius, lo, hi):
    """(a, b, distance) within `radius` for a in lo..hi against set B, by
    scanning in tiles; `same`: B is A, and only b > a is scanned."""
    out_i = np.empty(1024, dtype=np.int32)
    out_j = np.empty(1024, dtype=np.int32)
    out_d = np.empty(1024, dtype=np.uint8)
    n = 0
    buf = np.empty(TILE, dtype=np.uint8)
    limit = np.uint8(min(radius, 64))
    for q in range(lo, hi):
        code = a_codes[q]
        for first in range(q + 1 if same else 0, b_codes.shape[0], TILE):
            last = min(first + TILE, b_codes.shape[0])
            _distances(code, b_codes, first, last, buf)
            near = 0
            for t in range(last - first):
                near += buf[t] <= limit
            if near == 0:
                continue
            for t in range(last - first):
                if buf[t] <= limit:
                    out_i, out_j, out_d = _push(out_i, out_j, out_d, n, q, first + t, buf[t])
                    n += 1
    return out_i[:n], out_j[:n], out_d[:n]


@njit(nogil=True, cache=True)
def nearest_mih_phase(
    codes,
    keys,
    ids,
    sorted_codes,
    starts,
    chunk,
    masks,
    mask_lo,
    mask_hi,
    active,
    best_d,
    best_i,
    lo,
    hi,
):
    """One phase of the k-NN ring search: probe masks[mask_lo:mask_hi] of `chunk`
    for the active queries at positions lo..hi of that chunk's key order.

    Walking queries in key order makes neighbouring queries probe the same
    buckets, which keeps them in cache.
    """
    for pos in range(lo, hi):
        q = ids[chunk, pos]
        if not active[q]:
            continue
        code = codes[q]
        key = keys[chunk, q]
        row_d = best_d[q]
        row_i = best_i[q]
        for m in range(mask_lo, mask_hi):
            bucket = key ^ masks[m]
            for p in range(starts[chunk, bucket], starts[chunk, bucket + 1]):
                d = popcount(code ^ sorted_codes[chunk, p])
                if d > row_d[row_d.shape[0] - 1]:
                    continue
                j = ids[chunk, p]
                if j != q and _beats(row_d, row_i, d, j) and not _present(row_i, j):
                    _insert(row_d, row_i, d, j)


@njit(nogil=True, cache=True)
def nearest_brute_block(codes, queries, k, out_i, out_d, old_kth_d, old_kth_i, exclude_self):
    """Exact k nearest of codes[queries] by scanning every code, in tiles.

    A tile is only searched one by one when its smallest distance could enter
    the top-k. Also collects (code index, query, distance) wherever the query
    would enter that code's own top-k, given its current k-th (old_kth_*):
    what adding the queries to a collection changes for the codes already there.
    """
    best_d = np.empty(k, dtype=np.int64)
    best_i = np.empty(k, dtype=np.int64)
    hit_a = np.empty(64, dtype=np.int64)
    hit_b = np.empty(64, dtype=np.int64)
    hit_d = np.empty(64, dtype=np.uint8)
    hits = 0
    track = old_kth_d.shape[0] > 0
    buf = np.empty(TILE, dtype=np.uint8)
    n = codes.shape[0]
    for row in range(queries.shape[0]):
        q = queries[row]
        code = codes[q]
        best_d[:] = NO_DISTANCE
        best_i[:] = -1
        for first in range(0, n, TILE):
            last = min(first + TILE, n)
            _distances(code, codes, first, last, buf)
            if exclude_self and first <= q < last:
                buf[q - first] = NO_DISTANCE
            lowest = np.uint8(NO_DISTANCE)
            for t in range(last - first):
                lowest = min(lowest, buf[t])
            if lowest <= best_d[k - 1]:
                for t in range(last - first):
                    d = np.int64(buf[t])
                    if d <= best_d[k - 1] and _beats(best_d, best_i, d, first + t):
                        _insert(best_d, best_i, d, first + t)
            if track:
                for t in range(last - first):
                    j = first + t
                    d = np.int64(buf[t])
                    if d < old_kth_d[j] or (d == old_kth_d[j] and q < old_kth_i[j]):
                        if j == q:
                            continue
                        hit_a, hit_b, hit_d = _push(hit_a, hit_b, hit_d, hits, j, q, d)
                        hits += 1
        out_i[row, :] = best_i
        out_d[row, :] = best_d
    return hit_a[:hits], hit_b[:hits], hit_d[:hits]


@njit(nogil=True, cache=True)
def pairs_against_block(codes, queries, radius):
    """(query, other, distance) for every other code within `radius` of each query."""
    out_i = np.empty(64, dtype=np.int32)
    out_j = np.empty(64, dtype=np.int32)
    out_d = np.empty(64, dtype=np.uint8)
    n = 0
    for row in range(queries.shape[0]):
        q = queries[row]
        code = codes[q]
        for j in range(codes.shape[0]):
            d = popcount(code ^ codes[j])
            if d <= radius and j != q:
                out_i, out_j, out_d = _push(out_i, out_j, out_d, n, q, j, d)
                n += 1
    return out_i[:n], out_j[:n], out_d[:n]
