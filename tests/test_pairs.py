"""Pairs and nearest neighbours equal a plain brute force, whatever the input."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.groups import components_keeping_apart, connected_components
from ingest.search import chunk_thresholds, find_nearest, find_pairs


def load_baselines():
    """benchmarks/baselines.py: the numpy brute force the benchmarks time."""
    path = Path(__file__).parent.parent / "benchmarks" / "baselines.py"
    spec = importlib.util.spec_from_file_location("baselines", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


numpy_pairs = load_baselines().numpy_pairs

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)
TOP_BIT = 1 << 63


def reference_pairs(values: list[int], radius: int) -> list[tuple[int, int, int]]:
    return [
        (i, j, (values[i] ^ values[j]).bit_count())
        for i in range(len(values))
        for j in range(i + 1, len(values))
        if (values[i] ^ values[j]).bit_count() <= radius
    ]


def reference_nearest(values: list[int], k: int) -> list[list[tuple[int, int]]]:
    """Each row: (distance, index) of the k nearest others, ties by index."""
    return [
        sorted(((values[i] ^ values[j]).bit_count(), j) for j in range(len(values)) if j != i)[:k]
        for i in range(len(values))
    ]


def clumpy(draw_values: list[int], flips: list[int]) -> list[int]:
    """Values plus near copies of them: the shape real hash collections have."""
    out = list(draw_values)
    for n, bit in enumerate(flips):
        if out:
            out.append(out[n % len(out)] ^ (1 << bit))
    return out


hash_lists = st.builds(
    clumpy,
    st.lists(st.one_of(U64, st.sampled_from([0, TOP_BIT, (1 << 64) - 1])), max_size=40),
    st.lists(st.integers(0, 63), max_size=30),
)


@settings(max_examples=150, deadline=None)
@given(hash_lists, st.integers(0, 20), st.sampled_from(["mih", "scan"]))
def test_find_pairs_equals_brute_force(values, radius, method):
    i, j, d = find_pairs(values, radius, workers=2, method=method)
    assert list(zip(i.tolist(), j.tolist(), d.tolist(), strict=True)) == reference_pairs(
        values, radius
    )


@settings(max_examples=150, deadline=None)
@given(hash_lists, st.integers(1, 7), st.sampled_from(["mih", "scan"]))
def test_find_nearest_equals_brute_force(values, k, method):
    index, distance = find_nearest(values, k, workers=2, method=method)
    assert index.shape == distance.shape == (len(values), k)
    for row, expected in enumerate(reference_nearest(values, k)):
        got = [(int(d), int(j)) for d, j in zip(distance[row], index[row], strict=True) if j >= 0]
        assert got == expected
        assert all(d == -1 for d, j in zip(distance[row], index[row], strict=True) if j < 0)


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n):
    values = [TOP_BIT] * n
    assert all(len(a) == 0 for a in find_pairs(values, 64))
    index, distance = find_nearest(values, 3)
    assert index.shape == (n, 3) and (index == -1).all() and (distance == -1).all()


def test_all_equal_hashes_pair_with_everyone_at_distance_zero():
    values = np.full(300, TOP_BIT | 5, dtype=np.uint64)
    i, j, d = find_pairs(values, 0, method="mih")
    assert len(i) == 300 * 299 // 2 and not d.any()
    index, distance = find_nearest(values, 4, method="mih")
    assert (distance == 0).all() and (index[:, 0] == np.where(np.arange(300) == 0, 1, 0)).all()


def test_signed_and_unsigned_views_agree():
    rng = np.random.default_rng(3)
    unsigned = rng.integers(0, 2**63, 500, dtype=np.int64).view(np.uint64) | np.uint64(TOP_BIT)
    signed = unsigned.view(np.int64)
    for got, expected in zip(find_pairs(signed, 30), find_pairs(unsigned, 30), strict=True):
        assert (got == expected).all()


@pytest.mark.parametrize("radius", range(0, 20))
def test_chunk_thresholds_satisfy_the_pigeonhole_bound(radius):
    t = chunk_thresholds(radius)
    assert (t + 1).sum() >= radius + 1 and t.max() - t.min() <= 1


@pytest.mark.parametrize("radius", [2, 7, 10, 13])
def test_crowded_buckets_equal_brute_force(radius):
    """Codes around a few centres fill buckets with many codes each (and sizes
    that are not multiples of the kernel's group of four)."""
    rng = np.random.default_rng(radius)
    centres = rng.integers(0, 2**64, 6, dtype=np.uint64)
    codes = centres[rng.integers(0, 6, 1_501)]
    for _ in range(6):
        flip = np.uint64(1) << rng.integers(0, 64, codes.size).astype(np.uint64)
        codes ^= np.where(rng.random(codes.size) < 0.5, flip, np.uint64(0))
    expected = numpy_pairs(codes, radius)
    order = np.lexsort((expected[1], expected[0]))
    for workers in (1, 2):
        got = find_pairs(codes, radius, workers=workers, method="mih")
        assert len(got[0]) > 1_000
        for a, b in zip(got, expected, strict=True):
            assert (a == b[order]).all()


@given(
    st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)))
        )
    )
)
def test_connected_components_match_a_plain_search(graph):
    n, edges = graph
    a = np.array([x for x, _ in edges], dtype=np.int64)
    b = np.array([y for _, y in edges], dtype=np.int64)
    label = connected_components(n, a, b)
    neighbours = {node: set() for node in range(n)}
    for x, y in edges:
        neighbours[x].add(y)
        neighbours[y].add(x)
    for node in range(n):
        seen, todo = {node}, [node]
        while todo:
            for other in neighbours[todo.pop()] - seen:
                seen.add(other)
                todo.append(other)
        assert label[node] == min(seen)


@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4),
        )
    )
)
def test_pictures_kept_apart_never_share_a_component(graph):
    n, edges, apart = graph
    apart = [(x, y) for x, y in apart if x != y]
    label = components_keeping_apart(n, edges, apart)
    assert all(label[x] != label[y] for x, y in apart)
    for x, y in edges:  # an edge is only left out when it would join a kept-apart pair
        if label[x] != label[y]:
            assert apart
    if not apart:
        a = np.array([x for x, _ in edges], dtype=np.int64)
        b = np.array([y for _, y in edges], dtype=np.int64)
        assert list(connected_components(n, a, b)) == label
