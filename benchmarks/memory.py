"""Peak memory of `cattags ingest` as the number of files grows.

Data: seeded demo pictures (100 to 300 px), N = 250, 1,000 and 4,000, each
ingested by a fresh process. Printed: the peak RSS of the main process and of
the largest worker. Bounded memory means these stay flat as N grows.

Usage: python benchmarks/memory.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from ingest.demo import write_demo_pictures

DATA = Path(__file__).parent / "data"
SIZES = (250, 1_000, 4_000)
MEASURE = """
import resource, sys
from ingest.pipeline import ingest
summary = ingest(sys.argv[1], sys.argv[2], sys.argv[3], workers=2)
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(summary.files, own, workers)
"""


def corpus(count: int) -> Path:
    root = DATA / f"small-{count}"
    if not (root / ".complete").exists():
        write_demo_pictures(root, count=count, seed=3, min_side=100, max_side=300)
        (root / ".complete").touch()
    return root


def main() -> None:
    print(f"{'files':>8}{'main MB':>10}{'worker MB':>11}")
    for count in SIZES:
        root = corpus(count)
        with tempfile.TemporaryDirectory() as scratch:
            out = subprocess.run(
                [sys.executable, "-c", MEASURE, str(root), f"{scratch}/c.db", f"{scratch}/t"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
        files, own, workers = (int(x) for x in out)
        print(f"{files:>8,}{own / 1024:>10.1f}{workers / 1024:>11.1f}")


if __name__ == "__main__":
    main()
