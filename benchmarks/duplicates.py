"""How well the near-duplicate rule finds copies of real photographs, and how
many unrelated pictures it joins, before and after variant hashes.

Give it folders of real photographs (any JPEG/PNG files; the README names the
public sets we used). It makes copies of a seeded sample of them in memory,
the way they happen to people:

    plain     re-encoded (JPEG quality 60 to 85), resized to 50-90%, a little
              brighter or darker
    crop 5%   5% cut off one side (then re-encoded)
    mirror    flipped left to right (then re-encoded)
    turn 90   turned a quarter, either way (then re-encoded)

and hashes everything the way `cattags ingest` does (`hash_image`, variants
included). A copy is found when the rule joins it with its own original.

Pairs the rule finds among distinct files are judged by their pixels: a
pair whose 32x32 grey reductions correlate at 0.95 or more in some
orientation is the same photograph stored twice (public sets hold such
duplicates: Caltech 101 has mirrored copies of some of its pictures), the
rest are unrelated pairs. They are counted among 10,000 photographs, and at
100,000 pictures among photographs plus disjoint tiles cut from them (a 3x3
grid; tiles with almost no contrast left out), because no set of 10^5 real
photographs fits on this machine. Beyond 2,000 pairs a seeded sample of
2,000 is judged and the share scaled up. Rows: "before" compares plain hashes only
(the rule until variants), "turns" adds the mirrored and turned variants
(the default now), "turns + crops" the opt-in crop variants too.

With --megapixels 12 it compares the hash modes instead: each sampled
photograph is enlarged to that many megapixels and saved as a JPEG (quality
92), its copies are made from that file and saved as JPEGs too, and every
file is hashed the way `cattags ingest` does in the exact mode and in the
fast mode (`--fast`: decoded at a reduced scale). The table gives the
recall of each mode, and the seconds each spent hashing.

With --listed N it gives the "listed" column instead (benchmarks/listed.py):
copies of N photographs written as files, ingested by `cattags ingest`, and
the share of each kind that `cattags duplicates` lists with its original.

Usage: python benchmarks/duplicates.py PHOTO_FOLDER... [--copies 1000]
           [--rule phash+dhash<=18] [--cache hashes.npz] [--megapixels 12]
           [--listed 101 [--crops]]
"""

from __future__ import annotations

import argparse
import io
import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

import listed
import numpy as np
from PIL import Image, ImageEnhance

from ingest.analyse import Contents, decode, reduced_copy
from ingest.core import VARIANT_HASHES, least_side, unpack_variants
from ingest.hashing import TURNS, VARIANT_NAMES, hash_image
from ingest.matching import HASHES, Codes, find_duplicates, parse_rule
from ingest.settings import HASH_MODES

KINDS = ("plain", "crop 5%", "mirror", "turn 90")
TILES = 3  # a 3x3 grid of tiles from each photograph
FLAT = 8.0  # tiles whose grey levels vary less than this (std) are left out
SAME_PHOTO = 0.95  # pixel correlation from which a pair is one photograph stored twice
JUDGED = 2_000  # pairs judged by pixels per row at most (a seeded sample, scaled up)


def jpeg_bytes(img: Image.Image, quality: int) -> bytes:
    """The picture as a JPEG file, as a camera or app saves it."""
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def as_jpeg(img: Image.Image, quality: int) -> Image.Image:
    """The picture after a round trip through JPEG."""
    again = Image.open(io.BytesIO(jpeg_bytes(img, quality)))
    again.load()
    return again


def copy_bytes(img: Image.Image, kind: str, rng: np.random.Generator) -> bytes:
    """One copy of a photograph as a JPEG file (see `make_copy`)."""
    return jpeg_bytes(changed(img, kind, rng), int(rng.integers(60, 86)))


def make_copy(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """One copy of a photograph, as described in the module docstring."""
    return as_jpeg(changed(img, kind, rng), int(rng.integers(60, 86)))


def changed(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """The picture changed as a copy of `kind` is, before it is saved."""
    if kind == "plain":
        scale = rng.uniform(0.5, 0.9)
        size = (max(8, round(img.width * scale)), max(8, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.BICUBIC)
        img = ImageEnhance.Brightness(img.convert("RGB")).enhance(rng.uniform(0.9, 1.1))
    elif kind == "crop 5%":
        w, h = img.size
        cut_w, cut_h = round(0.05 * w), round(0.05 * h)
        side = int(rng.integers(4))
        box = [(cut_w, 0, w, h), (0, cut_h, w, h), (0, 0, w - cut_w, h), (0, 0, w, h - cut_h)][side]
        img = img.crop(box)
    elif kind == "mirror":
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    else:
        turn = Image.Transpose.ROTATE_90 if rng.integers(2) else Image.Transpose.ROTATE_270
        img = img.transpose(turn)
    return img


def hashes_of(img: Image.Image) -> tuple[list[int], bytes]:
    found = hash_image(img)
    return [int(getattr(found, name), 16) for name in HASHES], found.variants


def file_hashes(data: bytes, mode: str) -> tuple[list[int], bytes]:
    """A picture file's hashes as `cattags ingest` makes them in `mode`."""
    least = least_side(mode, 64)  # as `cattags ingest` with its default thumbnails
    img, full_size = decode(Contents(len(data), "", data), least)
    return hashes_of(reduced_copy(img, full_size, least))


def hash_big_photo(job: tuple[str, int, float]) -> dict[str, list] | None:
    """A photograph enlarged to `megapixels` and its copies, as JPEG files,
    hashed in every mode: {mode: [(kind, codes, variants)], mode + " s": seconds}."""
    path, seed, megapixels = job
    try:
        img = open_picture(Path(path)).convert("RGB")
    except (OSError, SyntaxError, ValueError) as error:
        print(f"left out {path}: {error}")
        return None
    scale = (megapixels * 1e6 / (img.width * img.height)) ** 0.5
    big = img.resize(
        (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
    )
    rng = np.random.default_rng(seed)
    files = [("photo", jpeg_bytes(big, 92))]
    files += [(kind, copy_bytes(big, kind, rng)) for kind in KINDS]
    out: dict[str, list] = {}
    for mode in HASH_MODES:
        started = time.process_time()
        out[mode] = [(kind, *file_hashes(data, mode)) for kind, data in files]
        out[mode + " s"] = [time.process_time() - started]
    return out


def compare_modes(paths: list[Path], copies: int, megapixels: float, rule) -> None:
    """Recall of the exact and the fast mode on enlarged photographs."""
    picked = np.random.default_rng(7).choice(len(paths), min(copies, len(paths)), replace=False)
    jobs = [(str(paths[n]), int(n), megapixels) for n in sorted(picked)]
    tables = {mode: {"owner": [], "kind": [], "plain": [], "variants": []} for mode in HASH_MODES}
    seconds = dict.fromkeys(HASH_MODES, 0.0)
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        for n, result in enumerate(pool.map(hash_big_photo, jobs, chunksize=4)):
            for mode in HASH_MODES if result else ():
                seconds[mode] += result[mode + " s"][0]
                for kind, codes, packed in result[mode]:
                    tables[mode]["owner"].append(n)
                    tables[mode]["kind"].append(kind)
                    tables[mode]["plain"].append(codes)
                    tables[mode]["variants"].append(unpack_variants(packed))
    files = len(tables["exact"]["owner"])
    print(f"{files:,} JPEG files of {megapixels:g} MP ({len(jobs):,} photographs and copies)\n")
    print("| mode | setting | " + " | ".join(KINDS) + " | CPU ms a file |")
    print("|---|---|" + "---:|" * (len(KINDS) + 1))
    found: dict[str, dict] = {}
    for mode, lists in tables.items():
        data = {
            "owner": np.array(lists["owner"]),
            "kind": np.array(lists["kind"]),
            "plain": np.array(lists["plain"], dtype=np.uint64),
            "variants": np.stack(lists["variants"]),
        }
        for name, row in recall(data, rule, found.setdefault(mode, {})).items():
            shares = " | ".join(f"{row[k]:.3f}" for k in KINDS)
            print(f"| {mode} | {name} | {shares} | {1000 * seconds[mode] / files:.0f} |")
    print("\ncopies one mode finds and the other does not (exact only / fast only):")
    for name, *_ in SETTINGS:
        exact, fast = found["exact"][name], found["fast"][name]
        apart = [
            f"{kind} {len({c for c in exact - fast if c[1] == kind})}"
            f"/{len({c for c in fast - exact if c[1] == kind})}"
            for kind in KINDS
        ]
        print(f"  {name}: " + ", ".join(apart))


def open_picture(path: Path) -> Image.Image:
    img = Image.open(path)
    img.load()
    return img


def hash_photo(job: tuple[str, int]) -> list[tuple[str, list[int], bytes]]:
    """The photograph, its copies (when picked) and its tiles, each hashed."""
    path, seed = job
    try:
        img = open_picture(Path(path))
    except (OSError, SyntaxError, ValueError) as error:
        print(f"left out {path}: {error}")
        return []
    out = [("photo", *hashes_of(img))]
    if seed >= 0:
        rng = np.random.default_rng(seed)
        for kind in KINDS:
            out.append((kind, *hashes_of(make_copy(img, kind, rng))))
    out.extend(("tile", *hashes_of(tile)) for tile in tiles(img))
    return out


def tiles(img: Image.Image) -> list[Image.Image]:
    """The tiles of a 3x3 grid that have some contrast, row by row."""
    w, h = img.size
    found = []
    for row in range(TILES):
        for column in range(TILES):
            box = (column * w // TILES, row * h // TILES)
            box += ((column + 1) * w // TILES, (row + 1) * h // TILES)
            tile = img.crop(box)
            if min(tile.size) >= 16 and np.asarray(tile.convert("L")).std() >= FLAT:
                found.append(tile)
    return found


def hash_everything(paths: list[Path], copies: int, cache: Path | None) -> dict[str, np.ndarray]:
    """Arrays: owner (photo number), kind, plain codes (N, 3), variants (N, V, 3)."""
    if cache and cache.exists():
        with np.load(cache) as stored:
            return dict(stored)
    picked = set(
        np.random.default_rng(7).choice(len(paths), min(copies, len(paths)), replace=False)
    )
    jobs = [(str(p), n if n in picked else -1) for n, p in enumerate(paths)]
    owner, kind, plain, variants = [], [], [], []
    started = time.perf_counter()
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        for n, results in enumerate(pool.map(hash_photo, jobs, chunksize=16)):
            for what, codes, packed in results:
                owner.append(n)
                kind.append(what)
                plain.append(codes)
                variants.append(unpack_variants(packed))
    print(f"hashed {len(owner):,} pictures in {time.perf_counter() - started:.0f} s")
    arrays = {
        "owner": np.array(owner),
        "kind": np.array(kind),
        "plain": np.array(plain, dtype=np.uint64),
        "variants": np.stack(variants),
    }
    if cache:
        np.savez(cache, **arrays)
    return arrays


def codes_for(data: dict[str, np.ndarray], rows: np.ndarray, variants: bool) -> Codes:
    plain = {name: data["plain"][rows, k].copy() for k, name in enumerate(HASHES)}
    has = np.full((len(rows), data["variants"].shape[1]), variants)
    return Codes([str(r) for r in rows], plain, data["variants"][rows], has)


SETTINGS = (("before", False, False), ("turns", True, False), ("turns + crops", True, True))


def recall(data, rule, found_copies: dict | None = None) -> dict[str, dict[str, float]]:
    """Per setting and kind of copy: the share of copies joined with their
    original. `found_copies`, when given, receives per setting the set of
    (photograph, kind) found."""
    owners = np.unique(data["owner"][data["kind"] == "plain"])
    rows = np.flatnonzero(np.isin(data["owner"], owners) & (data["kind"] != "tile"))
    table: dict[str, dict[str, float]] = {}
    for name, variants, crops in SETTINGS:
        found = find_duplicates(codes_for(data, rows, variants), rule, crops)
        a, b = rows[found.a], rows[found.b]
        joined = set(zip(a.tolist(), b.tolist(), strict=True))
        joined |= {(y, x) for x, y in joined}
        original = {int(data["owner"][r]): r for r in rows if data["kind"][r] == "photo"}
        table[name] = {}
        for kind in KINDS:
            copies = rows[data["kind"][rows] == kind]
            hits = [c for c in copies if (original[int(data["owner"][c])], c) in joined]
            table[name][kind] = len(hits) / len(copies)
            if found_copies is not None:
                found_copies.setdefault(name, set()).update(
                    (int(data["owner"][c]), kind) for c in hits
                )
    return table


def grey(img: Image.Image) -> np.ndarray:
    """A 32x32 grey reduction, zero mean and unit spread."""
    pixels = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), float)
    return (pixels - pixels.mean()) / (pixels.std() + 1e-9)


def resemblance(first: Image.Image, second: Image.Image) -> float:
    """The best pixel correlation of two pictures over the eight orientations."""
    x, y = grey(first), grey(second)
    turns = [lambda a: a] + [turn for turn, _ in TURNS]
    return max(float((x * turn(y)).mean()) for turn in turns)


class Pictures:
    """Photographs and tiles by row of the hash arrays, opened on demand."""

    def __init__(self, paths: list[Path], data: dict[str, np.ndarray]):
        self.paths, self.data = paths, data
        self.first_tile = {}
        for row in np.flatnonzero(data["kind"] == "tile")[::-1]:
            self.first_tile[int(data["owner"][row])] = int(row)

    @lru_cache(maxsize=512)  # noqa: B019 - one instance per run
    def photo(self, owner: int) -> Image.Image:
        return open_picture(self.paths[owner])

    def __getitem__(self, row: int) -> Image.Image:
        owner = int(self.data["owner"][row])
        if self.data["kind"][row] == "tile":
            return tiles(self.photo(owner))[row - self.first_tile[owner]]
        return self.photo(owner)


def unrelated(data, rule, count: int, with_tiles: bool, pictures: Pictures):
    """Per setting: pairs found among `count` distinct pictures, those judged
    one photograph stored twice, and seconds of search."""
    rng = np.random.default_rng(11)
    kinds = ("photo", "tile") if with_tiles else ("photo",)
    pool = np.flatnonzero(np.isin(data["kind"], kinds))
    rows = np.sort(rng.choice(pool, min(count, len(pool)), replace=False))
    out = {}
    for name, variants, crops in SETTINGS:
        started = time.perf_counter()
        found = find_duplicates(codes_for(data, rows, variants), rule, crops)
        seconds = time.perf_counter() - started
        sample = np.arange(len(found.a))
        if len(sample) > JUDGED:
            sample = np.sort(np.random.default_rng(5).choice(sample, JUDGED, replace=False))
        same = sum(
            resemblance(pictures[int(rows[found.a[k]])], pictures[int(rows[found.b[k]])])
            >= SAME_PHOTO
            for k in sample
        )
        scaled = round(same * len(found.a) / len(sample)) if len(sample) else 0
        out[name] = (len(found.a), scaled, seconds)
    return out, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--copies", type=int, default=1000, help="photographs to copy")
    parser.add_argument("--rule", default="phash+dhash<=18")
    parser.add_argument("--cache", type=Path, help="keep the hashes here between runs")
    parser.add_argument(
        "--megapixels", type=float, help="compare the hash modes on photographs this big"
    )
    parser.add_argument(
        "--listed",
        type=int,
        metavar="N",
        help="the listed column instead: copies of N photographs ingested as files (listed.py)",
    )
    parser.add_argument("--crops", action="store_true", help="with --listed: ingest --crops")
    args = parser.parse_args()
    rule = parse_rule(args.rule)
    paths = listed.photographs(args.folders)
    if args.listed:
        picked = np.random.default_rng(7).choice(len(paths), min(args.listed, len(paths)), False)
        listed.measure([paths[n] for n in sorted(picked)], args.crops)
        return
    if args.megapixels:
        compare_modes(paths, args.copies, args.megapixels, rule)
        return
    data = hash_everything(paths, args.copies, args.cache)
    photos = int(np.sum(data["kind"] == "photo"))
    print(f"{photos:,} photographs, {int(np.sum(data['kind'] == 'tile')):,} tiles; rule {rule}")
    print(
        f"variants: {'; '.join(dict.fromkeys(VARIANT_NAMES))} ({len(VARIANT_HASHES)} hashes each)\n"
    )
    shares = recall(data, rule)
    print(f"| {'':14} | " + " | ".join(f"{k:>8}" for k in KINDS) + " |")
    print("|---|" + "---:|" * len(KINDS))
    for name, row in shares.items():
        print(f"| {name:14} | " + " | ".join(f"{row[k]:8.3f}" for k in KINDS) + " |")
    print(f"\nrecall on {len(np.unique(data['owner'][data['kind'] == 'plain'])):,} photographs\n")
    pictures = Pictures(paths, data)
    print(
        "| pictures | setting | pairs found | one photo twice | unrelated | per 1,000 | search s |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for count, with_tiles in ((10_000, False), (100_000, True)):
        result, n = unrelated(data, rule, count, with_tiles, pictures)
        for name, (pairs, same, seconds) in result.items():
            bad = pairs - same
            print(
                f"| {n:,} | {name} | {pairs} | {same} | {bad} | {1000 * bad / n:.2f}"
                f" | {seconds:.2f} |"
            )


if __name__ == "__main__":
    main()
