"""How well the near-duplicate rule finds the demo data's planted copies.

Data: `cattags demo-data` pictures (seeded), where every variant is named
after its original (cat-0012-resized.jpg is a copy of cat-0012.*). A copy is
found when it and its original share an image or are joined by a
near-duplicate pair; a false pair joins pictures of two different originals.

Usage: python benchmarks/duplicates.py [--count 200] [--rule phash+dhash<=18]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from ingest.demo import write_demo_pictures
from ingest.pipeline import ingest
from ingest.store import open_database

ORIGINAL = re.compile(r"cat-(\d+)")


def evaluate(db_path: Path) -> dict[str, int]:
    """Copies found, copies missed and false pairs, from a database of demo pictures."""
    db = open_database(db_path)
    origin: dict[str, set[str]] = {}
    variants = []
    for path, image_id in db.execute("SELECT path, image_id FROM files"):
        number = ORIGINAL.search(path).group(1)
        origin.setdefault(image_id, set()).add(number)
        if Path(path).stem.count("-") == 2:
            variants.append((number, image_id))
    edges = db.execute("SELECT image_a, image_b FROM pairs WHERE near_duplicate = 1").fetchall()
    linked = {(a, b) for a, b in edges} | {(b, a) for a, b in edges}
    originals = {
        number: image_id
        for path, image_id in db.execute("SELECT path, image_id FROM files")
        for number in [ORIGINAL.search(path).group(1)]
        if Path(path).stem.count("-") == 1
    }
    found = sum(
        1
        for number, image_id in variants
        if image_id == originals[number] or (image_id, originals[number]) in linked
    )
    false = sum(1 for a, b in edges if not (origin[a] & origin[b]))
    return {"copies": len(variants), "found": found, "pairs": len(edges), "false pairs": false}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rule", default="phash+dhash<=18")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "cats"
        write_demo_pictures(root, count=args.count)
        ingest(root, rule=args.rule)
        result = evaluate(root / "cats.db")
    print(f"rule {args.rule} on {args.count} demo pictures:")
    print(
        f"{result['found']} of {result['copies']} planted copies found, "
        f"{result['pairs']} near-duplicate pairs, {result['false pairs']} between unrelated pictures"
    )


if __name__ == "__main__":
    main()
