"""How long listing the sets of duplicate files takes (`cattags duplicates`,
the review page), against the floor of reading the rows it needs, in one run.

Data: a generated database of N pictures (random hashes), a file each, a
second byte-identical file for 5% of them, a second file of a different
photograph under the same id for 0.5% (so their files are compared), and
5% of the pictures in near-duplicate groups of two or three joined by
pairs. Cached in benchmarks/data/.

    floor     the rows the listing reads: SET_QUERY and the pairs, fetched
    list      `list_sets`, every set built and sorted (a fresh run each time)
    cached    the review page's second look while nothing changed (`sets_of`)

Usage: python benchmarks/duplicate_sets.py [--pictures 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from pathlib import Path

import numpy as np

from datasette_cattags.views import sets_of
from ingest.duplicates import ALL_SETS, SET_QUERY, list_sets
from ingest.library import open_database

DATA = Path(__file__).parent / "data"


def build(path: Path, count: int) -> None:
    """The generated database (see the module docstring)."""
    rng = np.random.default_rng(5)
    db = open_database(path)
    codes = rng.integers(0, 2**63, (count, 3), dtype=np.int64)
    hexes = [[f"{int(c) & (2**64 - 1):016x}" for c in row] for row in codes]
    ids = [f"640x480_{h[0]}" for h in hexes]
    db.conn.executemany(
        "INSERT INTO images (id, width, height, size, whash, whash_int, phash, phash_int, dhash,"
        " dhash_int) VALUES (?, 640, 480, '640x480', ?, ?, ?, ?, ?, ?)",
        (
            (i, h[0], int(c[0]), h[1], int(c[1]), h[2], int(c[2]))
            for i, h, c in zip(ids, hexes, codes, strict=True)
        ),
    )
    files = [(f"{i}.jpg", i, h[0], h[1], h[2]) for i, h in zip(ids, hexes, strict=True)]
    files += [(f"copies/{ids[n]}.jpg", ids[n], *hexes[n]) for n in range(0, count, 20)]
    other = rng.integers(0, 2**63, (count // 200, 2), dtype=np.int64)
    files += [
        (f"other/{ids[n]}.jpg", ids[n], hexes[n][0], f"{int(o[0]):016x}", f"{int(o[1]):016x}")
        for n, o in zip(range(7, count, 200), other, strict=False)
    ]
    db.conn.executemany(
        "INSERT INTO files (path, image_id, bytes, mtime, sha256, format, mode, whash, phash,"
        " dhash) VALUES (?, ?, 1000, 0, 'x' || ?, 'JPEG', 'RGB', ?, ?, ?)",
        ((path, image, path, w, p, d) for path, image, w, p, d in files),
    )
    grouped = rng.permutation(count)[: count // 10]
    pairs, cluster = [], {}
    for n in range(0, len(grouped) - 2, 5):  # groups of two and of three, alternately
        members = sorted(ids[m] for m in grouped[n : n + 2 + (n // 5) % 2])
        for a, b in zip(members, members[1:], strict=False):
            pairs.append((a, b))
        for m in members:
            cluster[m] = n // 5 + 1
    db.conn.executemany(
        "INSERT INTO pairs (image_a, image_b, algorithm, distance, near_duplicate, rule)"
        " VALUES (?, ?, 'phash+dhash', 6, 1, 'phash+dhash<=18')",
        pairs,
    )
    db.conn.executemany(
        "UPDATE images SET cluster = ? WHERE id = ?", [(c, i) for i, c in cluster.items()]
    )
    db.conn.commit()
    db.close()


def timed(work, repeat: int) -> float:
    """The median seconds of `repeat` runs."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pictures", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = DATA / f"duplicate-sets-{args.pictures}.db"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        build(path, args.pictures)
    db = open_database(path)
    conn = sqlite3.connect(path)

    def floor() -> None:
        conn.execute(SET_QUERY.format(shown=ALL_SETS)).fetchall()
        conn.execute("SELECT * FROM pairs WHERE near_duplicate = 1").fetchall()

    sets = list_sets(db)
    files = sum(len(s.files) for s in sets)
    print(f"{args.pictures:,} pictures: {len(sets):,} sets of {files:,} files")
    results = {
        "floor": timed(floor, args.repeat),
        "list": timed(lambda: list_sets(db), args.repeat),
    }
    sets_of(db.conn)
    results["cached"] = timed(lambda: sets_of(db.conn), args.repeat)
    print("step      median s")
    for name, seconds in results.items():
        print(f"{name:8} {seconds:9.3f}")
    print(f"list vs floor: {results['list'] / results['floor']:.1f}x")
    print(f"cached: {results['list'] / results['cached']:,.0f}x faster than listing again")


if __name__ == "__main__":
    main()
