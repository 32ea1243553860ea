"""The images gallery page with its default facets at 100,000 pictures (or
a million: --count 1000000).

Also counted: the SQL queries one gallery page runs (Datasette's trace), which
must not grow with the pictures shown.

Data: a generated cattags database of N pictures (default 100,000) with
random hashes, a 9.3 KB PNG thumbnail each (noise: as large as a 64 px
thumbnail gets; the demo's average 4 KB), 3 to 5 tags each (folders, size),
neighbours and clusters, a look each (drawn around 12 centres, then grouped
by the project's own save_looks) and a capture time for 70% of them (then
events by save_events), built with the project's own schema and code.
Timed, through Datasette's in-process client (no network), after one
warm-up request, p50 and p90 of 20 requests each:
- GET /cats/images: the gallery HTML with every default facet (tags,
  folder, look, event, cluster, nearest distance) and the look strips, its
  counts read from the counts table that triggers keep (ingest/schema.py);
- the same page with a tag selected (`?_tag=`), one look-alike group in
  look order, ordered by date taken, and "Select similar"'s filter;
- the JSON page "Select all" reads for one look-alike group (1,000 ids);
against Datasette's own plain table page of the same rows
(`?_cattags=table` without facets) as the baseline.

Usage: python benchmarks/gallery.py [--count 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import io
import json
import random
import re
import statistics
import time
from pathlib import Path

import numpy as np
from datasette.app import Datasette
from PIL import Image

from ingest.core import Hashes, image_row
from ingest.events import save_events
from ingest.library import open_database
from ingest.lookgroups import save_looks
from ingest.looks import LOOK_BYTES
from ingest.rows import insert_image
from ingest.store import close_database, save_settings
from ingest.tags import refresh_tags_column, save_tags

DATA = Path(__file__).parent / "data"
FOLDERS = [
    "",
    "indoor/tabby",
    "indoor/black",
    "outdoor/ginger",
    "outdoor/grey",
    "calico",
    "sleeping",
]
SIZES = ["640x480", "800x600", "1024x768", "1920x1080", "3000x2000", "4032x3024", "1080x1920"]


def build(count: int) -> Path:
    path = DATA / f"gallery-looks-{count}.db"
    if path.exists():
        close_database(open_database(path))  # built before a migration: brought up to date
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    db = open_database(path)
    save_settings(db, {"thumbs_root": str(DATA / "no-thumbs-here"), "thumb_size": 64})
    noise = np.random.default_rng(1)
    pngs = []
    for _ in range(64):  # a few distinct thumbnails, reused: the size is what matters
        buffer = io.BytesIO()
        Image.fromarray(noise.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(
            buffer, "PNG", compress_level=3
        )
        pngs.append(buffer.getvalue())
    centres = noise.integers(0, 128, (12, LOOK_BYTES))
    start = 1_500_000_000  # capture times from 2017 on, a few a day
    with db.atomic():
        for n in range(count):
            size = rng.choice(SIZES)
            w, h = (int(side) for side in size.split("x"))
            meta = {
                "width": w,
                "height": h,
                "format": "JPEG",
                "mode": "RGB",
                "bands": ["R", "G", "B"],
            }
            meta.update({"format_description": "JPEG", "extrema": [[0, 255]] * 3, "xmp": None})
            hashes = Hashes(f"{rng.getrandbits(64):016x}", None, None)
            row = image_row(meta, hashes, (64, 48))
            folder = rng.choice(FOLDERS)
            # The project's own insert: row, thumbnail, size and folder tags.
            look = np.clip(centres[n % 12] + noise.integers(-20, 21, LOOK_BYTES), 0, 255)
            png = pngs[n % 64] + row["id"].encode()
            insert_image(db, row, folder, png, look.astype(np.uint8).tobytes())
            save_tags(db, row["id"], [rng.choice(["indoor", "outdoor"])], "source")
            cluster = rng.choice([None] * 9 + [rng.randint(1, 5000)])
            taken = None
            if rng.random() < 0.7:
                moment = time.gmtime(start + n * 3000 + rng.randint(0, 2000))
                taken = time.strftime("%Y-%m-%dT%H:%M:%S", moment)
            db.execute(
                "update images set nearest_distance = ?, cluster = ?, taken = ? where id = ?",
                [rng.randint(0, 20), cluster, taken, row["id"]],
            )
        refresh_tags_column(db, [r[0] for r in db.execute("select id from images")])
    save_looks(db, regroup=True)
    save_events(db)
    db.execute("analyze")
    close_database(db)
    return path


async def timings(ds: Datasette, path: str, runs: int = 20) -> list[float]:
    """Milliseconds of each request, after a warm-up."""
    response = await ds.client.get(path)  # warm-up
    assert response.status_code == 200, response.text[:500]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        response = await ds.client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return out


async def run(count: int) -> None:
    path = build(count)
    ds = Datasette([], immutables=[str(path)], settings={"facet_time_limit_ms": 1000})
    name = path.stem
    some = (await ds.get_database(name).execute("select id from images limit 1")).first()[0]
    cases = {
        "gallery + 6 facets": f"/{name}/images",
        "gallery, tag selected": f"/{name}/images?_tag=sleeping",
        "gallery, one look group in look order": f"/{name}/images?look=3&_sort=look_order",
        "gallery, by date taken": f"/{name}/images?_sort=taken",
        "gallery, Select similar's filter (k=100)": f"/{name}/images?_alike={some}&_alike_k=100",
        "Select all's JSON page, 1,000 ids": f"/{name}/images.json?look=3&_col=id&_size=max"
        "&_shape=objects&_nofacet=1&_nocount=1",
        "baseline: plain table, no facets": f"/{name}/images?_cattags=table&_nofacet=1",
    }
    page = await ds.client.get(f"/{name}/images.json?_extra=facet_results")
    facets = page.json().get("facet_results", {})
    timed_out = page.json().get("facets_timed_out", [])
    print(
        f"{count:,} pictures; facets: {', '.join(f['name'] for f in facets.values())}; timed out: {timed_out or 'none'}"
    )
    print(f"{'page':<44}{'p50 ms':>8}{'p90 ms':>8}")
    results = {}
    for label, url in cases.items():
        ms = await timings(ds, url)
        results[label] = statistics.median(ms)
        print(f"{label:<44}{statistics.median(ms):>8.0f}{sorted(ms)[int(len(ms) * 0.9) - 1]:>8.0f}")
    base = results["baseline: plain table, no facets"]
    print(
        f"gallery with facets / plain table: {results['gallery + 6 facets'] / base:.2f}x"
        " (target: p50 < 300 ms)"
    )
    traced = Datasette([], immutables=[str(path)], settings={"trace_debug": True})
    await traced.client.get(f"/{name}/images")  # the first request also fills Datasette's catalog
    page = await traced.client.get(f"/{name}/images?_trace=1")
    traces = json.loads(html.unescape(re.search(r"<pre>(.*)</pre>", page.text, re.S).group(1)))
    shown = page.text.count('class="cattags-cell"')
    print(f"SQL queries for one gallery page of {shown} pictures: {traces['num_traces']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    asyncio.run(run(parser.parse_args().count))


if __name__ == "__main__":
    main()
