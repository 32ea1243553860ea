"""Looks: how well they find look-alikes, what they cost, how fast looks_like is.

1. Quality, on real labelled photographs: the Intel Image Classification
   scenes (buildings, forest, glacier, mountain, sea, street; 150 px), as
   published in the GitHub repository luangtatipsy/intel-image-classification
   (datasets/seg_train and seg_test; fetched, never committed). Pass the
   folder that holds one sub-folder per class. Each picture is read, made
   into a 64 px thumbnail as ingest makes one, and described by:
   - look: ingest/looks.py (what this project stores),
   - learned look: ingest/learned.py (`--looks efficientnet`), made from
     the picture itself as ingest makes it (when the looks extra is here),
   - whash: today's nearest cats (Hamming distance),
   - colour histogram: a plain 8x3x3 HSV histogram (Euclidean, on square
     roots of shares), the usual baseline.
   Printed: precision@10 (share of the 10 nearest in the same class, the
   picture left out) and the purity of k-means groups (k = classes and
   2 x classes), against chance.
2. Cost: CPU milliseconds of look_of() a picture, on thumbnails of the
   project's 63 real photographs, and of the learned look on the photographs
   themselves; and whole `cattags ingest` processes on copies of them without
   looks, with the classic look and with the learned one (CPU seconds,
   children included, and seconds on the clock with 2 workers).
3. looks_like(): the 10 nearest looks to a picture from SQL at 100,000 and
   1,000,000 random looks of each kind's size, warm (median of R), beside a
   plain numpy scan of the same looks held in memory as uint8.
4. Grouping: save_looks(regroup=True) on the same databases (looks drawn
   around 12 centres), as a process of its own: seconds and peak memory.

Usage: python benchmarks/looks.py [--photos DIR] [--per-class 400] [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from ingest.library import open_database
from ingest.lookgroups import best_kmeans, nearest_centre
from ingest.looks import CLASSIC, LEARNED, LOOK_BYTES, look_of

HERE = Path(__file__).parent
INTEL = HERE / "data" / "intel" / "datasets" / "seg_train"
SHARED_PHOTOS = HERE.parent.parent / "shared" / "photos"
ROUNDS = 5  # whole ingests each way, alternately


def labelled(
    root: Path, per_class: int
) -> tuple[list[Image.Image], list[Image.Image], np.ndarray, list[str]]:
    """Up to `per_class` pictures a class, their 64 px thumbnails, and their labels."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    pictures, thumbs, labels = [], [], []
    for number, name in enumerate(classes):
        for path in sorted((root / name).glob("*.jpg"))[:per_class]:
            with Image.open(path) as img:
                picture = img.convert("RGB")
            thumb = picture.copy()
            thumb.thumbnail((64, 64), Image.LANCZOS)
            pictures.append(picture)
            thumbs.append(thumb)
            labels.append(number)
    return pictures, thumbs, np.array(labels), classes


def has_network() -> bool:
    try:
        from ingest.learned import require_network

        require_network()
    except Exception as error:  # noqa: BLE001 - said, and the rows are left out
        print(f"   (the learned look is left out: {error})")
        return False
    return True


def hsv_histogram(img: Image.Image) -> np.ndarray:
    hsv = np.asarray(img.convert("HSV"), dtype=np.int32).reshape(-1, 3)
    bins = (hsv[:, 0] * 8 // 256) * 9 + (hsv[:, 1] * 3 // 256) * 3 + hsv[:, 2] * 3 // 256
    counts = np.bincount(bins, minlength=72).astype(np.float64)
    return np.sqrt(counts / counts.sum())


def precision_at(distance: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


def purity(points: np.ndarray, labels: np.ndarray, k: int) -> float:
    groups = nearest_centre(points, best_kmeans(points, k, np.random.default_rng(0)))
    return sum(np.bincount(labels[groups == g]).max() for g in set(groups.tolist())) / len(labels)


def quality(root: Path, per_class: int) -> None:
    pictures, thumbs, labels, classes = labelled(root, per_class)
    k = len(classes)
    looks = np.array([np.frombuffer(look_of(t), np.uint8) for t in thumbs], dtype=np.float32)
    colours = np.array([hsv_histogram(t) for t in thumbs], dtype=np.float32)
    bits = np.array([imagehash.whash(t).hash.ravel() for t in thumbs], dtype=np.float32)

    def euclidean(x: np.ndarray) -> np.ndarray:
        n = (x * x).sum(axis=1)
        return n[:, None] + n[None, :] - 2 * x @ x.T

    hamming = bits @ (1 - bits).T + (1 - bits) @ bits.T
    print(f"1. {len(labels):,} photographs, {k} classes ({', '.join(classes)}), from {root}")
    print(f"   chance: {1 / k:.2f}")
    print(f"   {'descriptor':<22}{'bytes':>6}{'p@10':>7}{f'purity k={k}':>14}{f'k={2 * k}':>7}")
    rows = [("look (this project)", looks, euclidean(looks), LOOK_BYTES)]
    if has_network():
        from ingest.learned import learned_look

        learnt = np.array(
            [np.frombuffer(learned_look(p), np.uint8) for p in pictures], dtype=np.float32
        )
        stored = np.hstack([learnt, looks])  # as ingest stores it (looks.make_look)
        rows.append(("learned look", stored, euclidean(stored), LEARNED.size))
        rows.append(("  its network part", learnt, euclidean(learnt), learnt.shape[1]))
    for name, points, distance, size in (
        *rows,
        ("whash", bits, hamming, 8),
        ("colour histogram", colours, euclidean(colours), 72),
    ):
        print(
            f"   {name:<22}{size:>6}{precision_at(distance.copy(), labels):>7.3f}"
            f"{purity(points, labels, k):>14.3f}{purity(points, labels, 2 * k):>7.3f}"
        )


INGEST = """
import resource, sys, time
from ingest import analyse, pipeline, lookgroups
if sys.argv[2] == "without":
    analyse.make_look = lambda *args: b""
    lookgroups.save_looks = lambda db, regroup=False: lookgroups.LooksSummary()
start = time.perf_counter()
pipeline.ingest(sys.argv[1], workers=2, looks="efficientnet" if sys.argv[2] == "learned" else None)
clock = time.perf_counter() - start
self, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(self.ru_utime + self.ru_stime + children.ru_utime + children.ru_stime, clock)
"""


def cost(copies: int) -> None:
    photos = sorted(SHARED_PHOTOS.rglob("*.jpg"))
    thumbs = []
    for path in photos:
        with Image.open(path) as img:
            thumb = img.convert("RGB")
        thumb.thumbnail((64, 64), Image.LANCZOS)
        thumbs.append(thumb)
    start = time.process_time()
    for _ in range(20):
        for thumb in thumbs:
            look_of(thumb)
    each = (time.process_time() - start) / (20 * len(thumbs)) * 1000
    print(f"2. look_of(): {each:.2f} ms CPU a picture ({len(thumbs)} thumbnails of real photos)")
    kinds = ["without", "with"]
    if has_network():
        from ingest.learned import learned_look

        learned_look(thumbs[0])  # the network is built once a process: not timed
        spent = 0.0
        for path in photos:
            with Image.open(path) as img:
                img.load()
                start = time.process_time()
                learned_look(img)
                spent += time.process_time() - start
        print(
            f"   learned look: {1000 * spent / len(photos):.1f} ms CPU a picture (one thread;"
            f" the {len(photos)} decoded photographs, their reduction to 224 px included)"
        )
        kinds.append("learned")
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "photos"
        source.mkdir()
        rng = random.Random(1)
        for n in range(copies):  # crops: every file its own picture
            path = photos[n % len(photos)]
            with Image.open(path) as img:
                w, h = img.size
                box = (rng.randrange(20), rng.randrange(20), w - rng.randrange(20), h)
                img.crop(box).save(source / f"p{n:04d}.jpg", quality=90)
        rounds: dict[str, list[tuple[float, float]]] = {how: [] for how in kinds}
        for _ in range(ROUNDS):
            for how in kinds:
                for stale in source.glob("*.db"):
                    stale.unlink()
                shutil.rmtree(source / "thumbs", ignore_errors=True)
                out = subprocess.run(
                    [sys.executable, "-c", INGEST, str(source), how],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                cpu, clock = out.stdout.split()[-2:]
                rounds[how].append((float(cpu), float(clock)))
        print(f"   whole ingest of {copies} photos, 2 workers, median of {ROUNDS}:")
        without = statistics.median(cpu for cpu, _ in rounds["without"])
        for how, label in (
            ("without", "no looks"),
            ("with", "classic look"),
            ("learned", "learned look"),
        ):
            if how not in rounds:
                continue
            cpu = statistics.median(c for c, _ in rounds[how])
            clock = statistics.median(c for _, c in rounds[how])
            print(
                f"   {label:<14} CPU {cpu:6.2f} s ({1000 * (cpu - without) / copies:+6.2f} ms a picture),"
                f" {clock:5.2f} s on the clock: {copies / clock:5.1f} pictures/s"
            )


def search(sizes: list[int], repeat: int) -> None:
    print(f"3. the 10 nearest looks, warm, median of {repeat} (ms)")
    print(f"   {'kind':<14}{'looks':>10}{'looks_like()':>14}{'numpy scan':>12}{'first call':>12}")
    grouping = []
    for kind in (CLASSIC, LEARNED):
        grouping += search_kind(kind, sizes, repeat)
    print("4. grouping everything again (save_looks(regroup=True)), a process of its own")
    for kind, size, (seconds, peak, groups) in grouping:
        print(
            f"   {kind:<14}{size:>10,} looks: {seconds:.1f} s, peak {peak:.0f} MB, {groups} groups"
        )


def search_kind(kind, sizes: list[int], repeat: int) -> list:
    """Section 3 for one kind of look (random looks of its size, around 12
    centres); the databases' grouping figures for section 4."""
    rng = np.random.default_rng(5)
    centres = rng.integers(0, 128, (12, kind.size))
    grouping = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            db = open_database(Path(scratch) / "looks.db")
            around = centres[rng.integers(0, len(centres), size)]
            noise = rng.integers(-20, 21, (size, kind.size))
            matrix = np.clip(around + noise, 0, 255).astype(np.uint8)
            ids = [f"{n}x1_{n:016x}" for n in range(1, size + 1)]
            db.conn.executemany(
                "insert into images (id, width, height, size, whash, whash_int)"
                " values (?, 1, 1, '1x1', ?, ?)",
                ((i, f"{n:016x}", n) for n, i in enumerate(ids, 1)),
            )
            db.conn.executemany(
                "insert into looks (image_id, look) values (?, ?)",
                ((i, matrix[n].tobytes()) for n, i in enumerate(ids)),
            )
            db.conn.execute(
                "insert or replace into settings (key, value) values ('look', ?)", [kind.version]
            )
            db.conn.commit()
            asked = [ids[int(n)] for n in rng.integers(0, size, repeat + 1)]
            start = time.perf_counter()
            db.execute("select looks_like(?, 10)", [asked[0]]).fetchone()
            first = (time.perf_counter() - start) * 1000
            timed = []
            for image_id in asked[1:]:
                start = time.perf_counter()
                db.execute("select looks_like(?, 10)", [image_id]).fetchone()
                timed.append((time.perf_counter() - start) * 1000)
            plain = []
            for image_id in asked[1:]:
                query = matrix[ids.index(image_id)].astype(np.int32)
                start = time.perf_counter()
                distance = ((matrix.astype(np.int32) - query) ** 2).sum(axis=1)
                np.argpartition(distance, 10)[:11]
                plain.append((time.perf_counter() - start) * 1000)
            print(
                f"   {kind.name:<14}{size:>10,}{statistics.median(timed):>14.1f}"
                f"{statistics.median(plain):>12.1f}{first:>12.0f}"
            )
            db.close()
            grouping.append((kind.name, size, group_in_a_process(Path(scratch) / "looks.db")))
    return grouping


# The peak is read from /proc (VmHWM): ru_maxrss would carry the parent's.
GROUP = """
import sys, time
from pathlib import Path
from ingest.lookgroups import save_looks
from ingest.library import open_database
db = open_database(sys.argv[1])
start = time.perf_counter()
summary = save_looks(db, regroup=True)
seconds = time.perf_counter() - start
status = Path("/proc/self/status").read_text().splitlines()
peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print(seconds, peak, summary.groups)
"""


def group_in_a_process(path: Path) -> tuple[float, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", GROUP, str(path)], capture_output=True, text=True, check=True
    )
    seconds, peak, groups = out.stdout.split()
    return float(seconds), float(peak), int(groups)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=Path, default=INTEL)
    parser.add_argument("--per-class", type=int, default=400)
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    if args.photos.is_dir():
        quality(args.photos, args.per_class)
    else:
        print(f"1. skipped: no labelled photographs at {args.photos} (see the docstring)")
    cost(args.copies)
    search([int(s) for s in args.sizes.split(",")], args.repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"   peak memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
