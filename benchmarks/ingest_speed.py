"""Ingest speed against a naive baseline and an exact-whash floor, in one run.

Data: a generated corpus of photo-shaped JPEGs (long side 1024 to 2048 px,
camera aspect ratios, drawn cats plus sensor-like noise, quality 90), cached
in benchmarks/data/. What is timed, wall clock, each on a cold pool:

  baseline  the prototype's steps in one process: full decode,
            imagehash.whash, thumbnail, PNG with text chunks
  decode    decode every file, on every core (for orientation)
  floor     what any exact whash must pay: decode every file and make the
            one grayscale power-of-two Lanczos resize, on every core
  ingest    `cattags ingest` into a fresh database, every core
  rerun     `cattags ingest` again with nothing changed
  fast      `cattags ingest --fast` into a fresh database (JPEGs decoded at
            a reduced scale; hashes close to imagehash's, not equal)
  fast-floor  what the fast mode cannot avoid: decode every JPEG at the
            scale it reads them, on every core. libjpeg still entropy-decodes
            every coefficient at 1/8 scale, so this is most of its time, and
            floor / fast-floor is the most any fast mode could gain

and the same as a user runs them, each a whole new process (interpreter
start, imports, pool start-up and exit included):

  floor-process   a script that does the floor's work and exits
  ingest-process  `python -m ingest ingest SOURCE` into a fresh database
  rerun-process   the same again, nothing changed
  empty-process   `python -m ingest ingest` on an empty folder (it says there
                  are no pictures and exits)
  fast-process    `python -m ingest ingest SOURCE --fast` into a fresh database
  dask-process    `python -m ingest ingest SOURCE --dask local` (a local Dask
                  cluster of one process a core; skipped without distributed)

--megapixels 12 makes every picture of the corpus that big (phone photos);
the fast mode's recall is measured by `benchmarks/duplicates.py --megapixels`.

Output (the baseline's PNGs, ingest's database and thumbnails) goes to a
scratch folder beside the corpus, on the photos' own disk, as a user's would
(by default ingest writes into SOURCE/). File system costs differ by place:
on the machine of the README's figures, writing a thumbnail to a temporary
name and renaming it took ~0.7 ms of CPU here and in /tmp, ~0.1 ms in
another folder of the same disk.

Usage: python benchmarks/ingest_speed.py [--count 300] [--repeat 1] [--no-baseline]
           [--megapixels 12]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ingest.core import least_side
from ingest.demo import draw_cat
from ingest.hashing import whash_working_image
from ingest.parallel import default_workers
from ingest.pipeline import ingest

DATA = Path(__file__).parent / "data"
FAST_LEAST = least_side("fast", 64)  # as `cattags ingest --fast` with its default thumbnails


def make_corpus(count: int, seed: int = 1, megapixels: float | None = None) -> Path:
    """Photo-shaped JPEGs, generated once and cached."""
    root = DATA / (f"photos-{count}-{seed}" + (f"-{megapixels:g}mp" if megapixels else ""))
    if (root / ".complete").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    for number in range(count):
        long_side = rng.randint(1024, 2048)
        aspect = rng.choice((4 / 3, 3 / 2, 16 / 9))
        if megapixels:
            long_side = round((megapixels * 1e6 * aspect) ** 0.5)
        short_side = round(long_side / aspect)
        size = (long_side, short_side) if rng.random() < 0.75 else (short_side, long_side)
        img = draw_cat(rng, *size, rng.choice(("tabby", "black", "ginger", "grey", "calico")))
        pixels = np.asarray(img, dtype=np.int16) + noise.integers(-12, 13, (size[1], size[0], 3))
        photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        folder = root / f"roll-{number % 7}"
        folder.mkdir(exist_ok=True)
        photo.save(folder / f"IMG_{number:04d}.jpg", quality=90)
    (root / ".complete").touch()
    return root


def pictures(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jpg"))


def baseline_one(path: Path, out: Path) -> None:
    """The prototype's per-file steps, written plainly."""
    img = Image.open(path)
    value = imagehash.whash(img, hash_size=8)
    thumb = img.copy()
    thumb.thumbnail((64, 64))
    meta = {
        "filename": path.name,
        "width": img.width,
        "height": img.height,
        "format": img.format,
        "format_description": img.format_description,
        "bands": img.getbands(),
        "extremes": img.getextrema(),
        "xmp": img.getxmp(),
    }
    info = PngInfo()
    for key, item in meta.items():
        info.add_text(key, f"{item}")
    thumb.save(out / f"{img.width}x{img.height}_{value}_.png", "PNG", pnginfo=info)


def decode_one(path: Path) -> int:
    with Image.open(path) as img:
        img.load()
        return img.width


def floor_one(path: Path) -> int:
    with Image.open(path) as img:
        return whash_working_image(img).width


def fast_floor_one(path: Path) -> int:
    with Image.open(path) as img:
        img.draft(img.mode, (FAST_LEAST, FAST_LEAST))
        img.load()
        return img.width


CPU: dict[str, list[float]] = {}  # step -> CPU seconds, this process and its workers


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(step: str, fn, *args, **kwargs) -> float:
    cpu = cpu_seconds()
    start = time.perf_counter()
    fn(*args, **kwargs)
    CPU.setdefault(step, []).append(cpu_seconds() - cpu)
    return time.perf_counter() - start


def run_baseline(files: list[Path], out: Path) -> None:
    for path in files:
        baseline_one(path, out)


def on_every_core(fn, files: list[Path], workers: int) -> None:
    with ProcessPoolExecutor(workers) as pool:
        for _ in pool.map(fn, files, chunksize=4):
            pass


def run_process(*command: object, check: bool = True) -> None:
    subprocess.run(
        [sys.executable, *map(str, command)],
        check=check,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if not check else None,
    )


def whole_processes(root: Path, results: dict[str, list[float]]) -> None:
    """The floor, an ingest and a re-run, each as a new process."""
    results["floor-process"].append(timed("floor-process", run_process, __file__, "--floor", root))
    with tempfile.TemporaryDirectory(dir=DATA) as scratch:
        db, thumbs = Path(scratch) / "cats.db", Path(scratch) / "thumbs"
        where = ("-m", "ingest", "ingest", root, "--db", db, "--thumbs", thumbs, "-s")
        results["ingest-process"].append(timed("ingest-process", run_process, *where))
        results["rerun-process"].append(timed("rerun-process", run_process, *where))
        (Path(scratch) / "empty").mkdir()
        empty = ("-m", "ingest", "ingest", Path(scratch) / "empty", "-s")
        results["empty-process"].append(timed("empty-process", run_process, *empty, check=False))
    for step, option in (("fast-process", "--fast"), ("dask-process", "--dask=local")):
        if step not in results:
            continue
        with tempfile.TemporaryDirectory(dir=DATA) as scratch:
            db, thumbs = Path(scratch) / "cats.db", Path(scratch) / "thumbs"
            where = ("-m", "ingest", "ingest", root, "--db", db, "--thumbs", thumbs, "-s", option)
            results[step].append(timed(step, run_process, *where))


def same_round(results: dict[str, list[float]], top: str, bottom: str) -> str:
    """top / bottom for each round (the two share the machine's state), smallest first."""
    paired = sorted(a / b for a, b in zip(results[top], results[bottom], strict=True))
    return ", ".join(f"{ratio:.2f}" for ratio in paired)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; medians shown")
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow baseline")
    parser.add_argument("--megapixels", type=float, help="every picture this big")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)  # the floor as a process
    args = parser.parse_args()
    if args.floor:
        on_every_core(floor_one, pictures(args.floor), default_workers())
        return
    root = make_corpus(args.count, megapixels=args.megapixels)
    files = pictures(root)
    workers = default_workers()
    megapixels = sum(Image.open(p).width * Image.open(p).height for p in files) / 1e6
    print(f"corpus: {len(files)} JPEGs, {megapixels:,.0f} MP, {root}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {workers} cores, "
        f"Python {platform.python_version()}, Pillow {Image.__version__}"
    )

    steps = ["baseline", "decode", "floor", "ingest", "rerun", "fast", "fast-floor"]
    steps += ["floor-process", "ingest-process", "rerun-process", "empty-process"]
    steps.append("fast-process")
    if importlib.util.find_spec("distributed"):
        steps.append("dask-process")
    if args.no_baseline:
        steps.remove("baseline")
    results: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.repeat):
        if not args.no_baseline:
            with tempfile.TemporaryDirectory(dir=DATA) as scratch:
                out = Path(scratch)
                results["baseline"].append(timed("baseline", run_baseline, files, out))
        results["decode"].append(timed("decode", on_every_core, decode_one, files, workers))
        results["floor"].append(timed("floor", on_every_core, floor_one, files, workers))
        with tempfile.TemporaryDirectory(dir=DATA) as scratch:
            db, thumbs = Path(scratch) / "cats.db", Path(scratch) / "thumbs"
            results["ingest"].append(timed("ingest", ingest, root, db, thumbs, workers=workers))
            results["rerun"].append(timed("rerun", ingest, root, db, thumbs, workers=workers))
        with tempfile.TemporaryDirectory(dir=DATA) as scratch:
            db, thumbs = Path(scratch) / "cats.db", Path(scratch) / "thumbs"
            fast = timed("fast", ingest, root, db, thumbs, workers=workers, mode="fast")
            results["fast"].append(fast)
        results["fast-floor"].append(
            timed("fast-floor", on_every_core, fast_floor_one, files, workers)
        )
        whole_processes(root, results)

    t = {name: statistics.median(values) for name, values in results.items()}
    best = {name: min(values) for name, values in results.items()}
    print()
    print(f"{'step':<16}{'median s':>10}{'best s':>10}{'images/s':>10}{'CPU s':>10}")
    for name, seconds in t.items():
        cpu = statistics.median(CPU[name])
        print(
            f"{name:<16}{seconds:>10.2f}{best[name]:>10.2f}{len(files) / seconds:>10.1f}"
            f"{cpu:>10.2f}"
        )
    print()
    if "baseline" in t:
        print(f"ingest vs baseline: {t['baseline'] / t['ingest']:.2f}x faster")
    print(
        f"ingest vs floor:    {t['ingest'] / t['floor']:.2f}x the floor (target <= 1.3);"
        f" best of each: {best['ingest'] / best['floor']:.2f}x"
    )
    print(
        f"same-round ratios:  {same_round(results, 'ingest', 'floor')}"
        f" (ingest / floor of each round, which share the machine's state)"
    )
    print(f"rerun vs ingest:    {t['ingest'] / t['rerun']:.1f}x faster (target >= 20)")
    print(
        f"fast vs ingest:     {t['ingest'] / t['fast']:.2f}x faster in one process,"
        f" {t['ingest-process'] / t['fast-process']:.2f}x as processes (target >= 4 on 12 MP)"
    )
    print(
        "                    same-round ratios as processes"
        f" {same_round(results, 'ingest-process', 'fast-process')};"
        f" fast is {t['fast'] / t['fast-floor']:.2f}x its own floor, and floor / fast-floor"
        f" = {t['floor'] / t['fast-floor']:.2f}x bounds what any fast mode could gain"
    )
    if "dask-process" in t:
        print(
            f"dask local:         {t['dask-process'] / t['ingest-process']:.2f}x the time of a"
            " plain ingest (the cost of a cluster on one machine)"
        )
    print(
        f"as processes:       ingest {t['ingest-process'] / t['floor-process']:.2f}x the floor"
        f" (same-round ratios {same_round(results, 'ingest-process', 'floor-process')});"
        f" an unchanged re-run takes {t['rerun-process']:.2f} s, an empty folder"
        f" {t['empty-process']:.2f} s (target < 0.3 s)"
    )
    if "baseline" in t:
        print(f"best possible vs baseline: {t['baseline'] / t['floor']:.2f}x (baseline / floor)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
