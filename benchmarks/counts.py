"""What the counts table's triggers cost the writing process of ingest.

The unfiltered gallery reads its facets from `counts` (ingest/schema.py,
m014), kept by triggers in the same transaction as every write. Timed here:
the project's own insert of N pictures (row, thumbnail, size, folder and a
source tag; `insert_image` and `save_tags`) into a fresh database, with the
triggers and, as the baseline, with them dropped; alternately, ROUNDS each,
medians. Printed: microseconds a picture each way and the ratio.

Usage: python benchmarks/counts.py [--count 20000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from ingest.core import Hashes, image_row
from ingest.library import open_database
from ingest.rows import insert_image
from ingest.store import close_database
from ingest.tags import save_tags

ROUNDS = 3
META = {
    "width": 640,
    "height": 480,
    "format": "JPEG",
    "format_description": "JPEG",
    "mode": "RGB",
    "bands": ["R", "G", "B"],
    "extrema": [[0, 255]] * 3,
    "xmp": None,
}


def insert(count: int, triggers: bool) -> float:
    """Seconds to insert `count` pictures in one transaction."""
    with tempfile.TemporaryDirectory() as scratch:
        db = open_database(Path(scratch) / "counts.db")
        if not triggers:
            names = db.execute("select name from sqlite_master where type = 'trigger'").fetchall()
            for (name,) in names:
                db.execute(f"drop trigger {name}")
        rng = random.Random(1)
        start = time.perf_counter()
        with db.atomic():
            for _ in range(count):
                row = image_row(META, Hashes(f"{rng.getrandbits(64):016x}", None, None), (64, 48))
                insert_image(db, row, rng.choice(["", "indoor/tabby", "garden"]), b"x" * 100, b"")
                save_tags(db, row["id"], ["holiday"], "source")
        seconds = time.perf_counter() - start
        close_database(db)
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    count = parser.parse_args().count
    times = {True: [], False: []}
    for _ in range(ROUNDS):
        for triggers in (False, True):
            times[triggers].append(insert(count, triggers))
    without, with_ = (statistics.median(times[t]) * 1e6 / count for t in (False, True))
    print(f"{count:,} pictures inserted, median of {ROUNDS}")
    print(f"baseline, no triggers: {without:.0f} us a picture")
    print(f"with the counting triggers: {with_:.0f} us a picture ({with_ / without:.2f}x)")


if __name__ == "__main__":
    main()
