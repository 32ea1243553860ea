"""The "listed" column of benchmarks/duplicates.py: the share of copies that
`cattags duplicates` actually lists with their original, after a real
`cattags ingest` of real files.

For a seeded sample of photographs it writes each as a JPEG (quality 92, at
most 1024 px a side) and one copy of every kind below as a file, ingests the
whole folder into a new database, lists the sets of files
(`ingest.duplicates.list_sets`, what `cattags duplicates` prints) and counts
a copy as listed when its file is in the same set as its original's.

    byte copy     the same bytes
    EXIF-only     the same JPEG with an orientation flag (turned when shown)
    JPEG q85/q50  decoded and saved again
    brightness    10% brighter
    watermark     a line of half-clear text in a corner, 4% of the height
    mirror        flipped left to right
    turn 90       turned a quarter
    resize 50%    half the width and height
    crop 1 side   2-10% off one side            (--crops)
    crop centred  2-5% off every side           (--crops)
    border        a screenshot-style frame, PNG (--crops)

Sets that hold files of two different photographs are false joins; they are
counted too (the photographs are distinct files, though a public set may
hold the same photograph twice).

Usage: python benchmarks/listed.py PHOTO_FOLDER... [--photos 101] [--crops]
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont
from sqlite_utils import Database

from ingest.duplicates import list_sets
from ingest.pipeline import ingest

SUFFIXES = {".jpg", ".jpeg", ".png"}
LONGEST = 1024  # photographs are written at most this many pixels a side
KINDS = (
    "byte copy",
    "EXIF-only",
    "JPEG q85",
    "JPEG q50",
    "brightness",
    "watermark",
    "mirror",
    "turn 90",
    "resize 50%",
)
CROP_KINDS = ("crop 1 side", "crop centred", "border")


def photographs(folders: list[Path]) -> list[Path]:
    """Every picture file under the folders, in a stable order."""
    found = [
        path
        for folder in folders
        for path in folder.rglob("*")
        if path.suffix.lower() in SUFFIXES and path.is_file()
    ]
    return sorted(found)


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG bytes with an Exif segment holding only an orientation
    flag, put right after the start marker: the pixels do not change."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()  # starts with b"Exif\0\0"
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def write_copy(img: Image.Image, original: Path, kind: str, target: Path, rng) -> Path:
    """One copy of `kind` of the photograph, written under `target`."""
    w, h = img.size
    if kind == "byte copy":
        shutil.copyfile(original, target.with_suffix(".jpg"))
        return target.with_suffix(".jpg")
    if kind == "EXIF-only":
        target.with_suffix(".jpg").write_bytes(with_orientation(original.read_bytes(), 6))
        return target.with_suffix(".jpg")
    quality = 90
    if kind in ("JPEG q85", "JPEG q50"):
        quality = int(kind[-2:])
    elif kind == "brightness":
        img = ImageEnhance.Brightness(img).enhance(1.1)
    elif kind == "watermark":
        img = watermarked(img)
    elif kind == "mirror":
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    elif kind == "turn 90":
        img = img.transpose(Image.Transpose.ROTATE_90)
    elif kind == "resize 50%":
        img = img.resize((w // 2, h // 2), Image.Resampling.LANCZOS)
    elif kind == "crop 1 side":
        cut = rng.uniform(0.02, 0.10)
        dw, dh = round(cut * w), round(cut * h)
        boxes = [(dw, 0, w, h), (0, dh, w, h), (0, 0, w - dw, h), (0, 0, w, h - dh)]
        img = img.crop(boxes[int(rng.integers(4))])
    elif kind == "crop centred":
        cut = rng.uniform(0.02, 0.05)
        dw, dh = round(cut * w), round(cut * h)
        img = img.crop((dw, dh, w - dw, h - dh))
    elif kind == "border":
        side, top = round(0.03 * w), round(0.06 * h)
        framed = Image.new("RGB", (w + 2 * side, h + top + side), (32, 33, 36))
        framed.paste(img, (side, top))
        framed.save(target.with_suffix(".png"))
        return target.with_suffix(".png")
    img.save(target.with_suffix(".jpg"), quality=quality)
    return target.with_suffix(".jpg")


def watermarked(img: Image.Image) -> Image.Image:
    """A photographer's mark: a line of white text at 60% opacity in the
    bottom-right corner, 4% of the picture's height."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(8, round(0.04 * img.height)))
    text = "(c) A. Photographer 2026"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    margin = round(0.02 * img.width)
    where = (img.width - (right - left) - margin, img.height - (bottom - top) - margin - top)
    draw.text(where, text, font=font, fill=(255, 255, 255, 153))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def build(paths: list[Path], root: Path, kinds: tuple[str, ...], seed: int) -> dict:
    """Write the photographs and their copies: {relative path: (photo, kind)}."""
    rng = np.random.default_rng(seed)
    made: dict[str, tuple[int, str]] = {}
    (root / "photos").mkdir(parents=True)
    for kind in kinds:
        (root / "copies" / kind.replace(" ", "-")).mkdir(parents=True)
    for n, path in enumerate(paths):
        with Image.open(path) as opened:
            img = opened.convert("RGB")
        img.thumbnail((LONGEST, LONGEST), Image.Resampling.LANCZOS)
        original = root / "photos" / f"p{n:04}.jpg"
        img.save(original, quality=92)
        made[original.relative_to(root).as_posix()] = (n, "original")
        for kind in kinds:
            target = root / "copies" / kind.replace(" ", "-") / f"p{n:04}"
            written = write_copy(img, original, kind, target, rng)
            made[written.relative_to(root).as_posix()] = (n, kind)
    return made


def measure(paths: list[Path], crops: bool, seed: int = 7) -> None:
    kinds = KINDS + (CROP_KINDS if crops else ())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "source"
        made = build(paths, root, kinds, seed)
        started = time.perf_counter()
        ingest(root, Path(tmp) / "c.db", Path(tmp) / "thumbs", workers=os.cpu_count(), crops=crops)
        seconds = time.perf_counter() - started
        sets = list_sets(Database(Path(tmp) / "c.db"))
    set_of = {f.path: s.number for s in sets for f in s.files}
    photos = len(paths)
    print(f"{photos} photographs, {len(made):,} files, ingest {seconds:.1f} s (crops {crops})\n")
    print("| copy | listed with its original |")
    print("|---|---:|")
    originals = {n: p for p, (n, kind) in made.items() if kind == "original"}
    for kind in kinds:
        listed = sum(
            1
            for path, (n, k) in made.items()
            if k == kind and path in set_of and set_of[path] == set_of.get(originals[n])
        )
        print(f"| {kind} | {listed / photos:.3f} ({listed}/{photos}) |")
    joined = []
    for copy_set in sets:
        owners = sorted({made[f.path][0] for f in copy_set.files})
        joined += [(a, b) for i, a in enumerate(owners) for b in owners[i + 1 :]]
    print(f"\npairs of different photographs in one set: {len(joined)}")
    for a, b in joined[:20]:
        print(f"  {paths[a]}  {paths[b]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--photos", type=int, default=101)
    parser.add_argument("--crops", action="store_true", help="add the crop kinds, ingest --crops")
    args = parser.parse_args()
    found = photographs(args.folders)
    picked = np.random.default_rng(7).choice(len(found), min(args.photos, len(found)), False)
    measure([found[n] for n in sorted(picked)], args.crops)


if __name__ == "__main__":
    main()
