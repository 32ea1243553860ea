"""The 10 nearest pictures to one picture, from SQL, at 100,000 and 1,000,000 rows.

Three ways, timed on the same database and the same query pictures:
- scan: the SQL of the README before, `order by hamming(...)` over every row
  (a Python call per row);
- nearest_images(): the SQL function backed by an in-memory numpy index of
  the codes (what the README and the plugin's "Similar images" use now),
  timed warm; its first call in a connection (reading the codes) apart;
- numpy: a plain numpy scan as one would write it (xor, popcount,
  argpartition) on codes already in memory;
- Datasette: the plugin's "Similar images" query as JSON, through Datasette's
  in-process client (warm), what a user of the published page waits for.

Data: N random 64-bit whash codes in a cattags schema (ids and codes only).
Median of R queries (different pictures each), one connection, one core.

Usage: python benchmarks/nearest.py [--sizes 100000,1000000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from pathlib import Path

import numpy as np

from ingest.library import open_database

DATA = Path(__file__).parent / "data"
SCAN = """select other.id, hamming(other.whash_int, this.whash_int) as distance
from images this, images other where this.id = :id and other.id != this.id
order by distance, other.id limit 10"""
INDEXED = """select images.id, json_extract(hit.value, '$[1]') as distance
from json_each(nearest_images(:id, 10)) as hit
join images on images.rowid = json_extract(hit.value, '$[0]')
order by distance, images.id limit 10"""


def build(n: int) -> Path:
    path = DATA / f"nearest-{n}.db"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    db = open_database(path)
    rows = []
    for i in range(n):
        code = rng.getrandbits(64)
        signed = code - (1 << 64) if code >= 1 << 63 else code
        rows.append((f"{i + 1}x1_{code:016x}", i + 1, f"{i + 1}x1", f"{code:016x}", signed))
    with db.atomic():
        db.conn.executemany(
            "insert into images (id, width, height, size, whash, whash_int) values (?, ?, 1, ?, ?, ?)",
            rows,
        )
    db.close()
    return path


def median_ms(fn, queries) -> float:
    times = []
    for query in queries:
        start = time.perf_counter()
        fn(query)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(n: int, repeat: int) -> None:
    db_path = build(n)
    db = open_database(db_path)
    ids = [row[0] for row in db.execute(f"select id from images order by random() limit {repeat}")]
    start = time.perf_counter()
    db.execute(INDEXED, {"id": ids[0]}).fetchall()
    first = (time.perf_counter() - start) * 1000
    for query in ids:  # the same answers, or the timing means nothing
        assert (
            db.execute(INDEXED, {"id": query}).fetchall()
            == db.execute(SCAN, {"id": query}).fetchall()
        )
    scan = median_ms(lambda q: db.execute(SCAN, {"id": q}).fetchall(), ids)
    indexed = median_ms(lambda q: db.execute(INDEXED, {"id": q}).fetchall(), ids)
    codes = np.array([c for (c,) in db.execute("select whash_int from images")], dtype=np.int64)
    codes = codes.view(np.uint64)
    own = {
        q: int(db.execute("select whash_int from images where id = ?", [q]).fetchone()[0])
        for q in ids
    }

    def bare(query):
        distance = np.bitwise_count(codes ^ np.uint64(own[query] & (2**64 - 1)))
        np.argpartition(distance, 10)[:11]

    floor = median_ms(bare, ids)
    page = asyncio.run(similar_page_ms(db_path, ids))
    print(
        f"{n:>10,} {scan:>10.1f} {indexed:>15.1f} {floor:>9.1f} {page:>10.1f}"
        f" {first:>14.0f} {scan / indexed:>9.0f}x"
    )


async def similar_page_ms(path: Path, ids: list[str]) -> float:
    """Median ms of the plugin's Similar images query as JSON, warm."""
    from datasette.app import Datasette

    ds = Datasette([], immutables=[str(path)])
    await ds.invoke_startup()
    url = f"/{path.stem}/similar.json?_shape=array&id="
    for query in ids:  # warm every read connection
        assert (await ds.client.get(url + query)).status_code == 200
    times = []
    for query in ids:
        start = time.perf_counter()
        await ds.client.get(url + query)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    print(
        f"{'rows':>10} {'scan ms':>10} {'nearest_images':>15} {'numpy ms':>9} {'Datasette':>10}"
        f" {'first call ms':>14} {'speed-up':>10}"
    )
    for size in args.sizes.split(","):
        run(int(size), args.repeat)


if __name__ == "__main__":
    main()
