"""Seeded "cats that don't exist": drawn pictures for the demo, tests and benchmarks."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance

# Folders the demo spreads pictures over; "2024" shows that numeric names are
# not tags.
FOLDERS = ("indoor/tabby", "indoor/black", "outdoor/2024/ginger", "outdoor/grey", "calico")
FUR = {
    "tabby": [(150, 110, 70), (120, 85, 50)],
    "black": [(25, 25, 30), (45, 40, 45)],
    "ginger": [(220, 130, 50), (200, 110, 40)],
    "grey": [(130, 130, 140), (100, 100, 110)],
    "calico": [(240, 235, 225), (210, 120, 50), (30, 30, 30)],
}
ASPECTS = (1.0, 4 / 3, 3 / 2, 16 / 9)  # the shapes cameras and phones take
VARIANT_SHARE = 0.15  # part of the pictures that are near-copies of another
VARIANTS = ("resized", "reencoded", "cropped", "brightened")


def draw_cat(rng: random.Random, width: int, height: int, kind: str) -> Image.Image:
    """One cat on a random background; the seed decides everything."""
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(rng.randrange(3, 12)):  # furniture, plants, toys
        x0, y0 = rng.uniform(-0.2, 1) * width, rng.uniform(-0.2, 1) * height
        x1, y1 = x0 + rng.uniform(0.05, 0.5) * width, y0 + rng.uniform(0.05, 0.5) * height
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    unit = min(width, height) * rng.uniform(0.25, 0.4)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.4, 0.6)
    fur = FUR[kind]
    coat = fur[0]
    body = [cx - unit * 1.1, cy + unit * 0.3, cx + unit * 1.1, cy + unit * 1.8]
    draw.ellipse(body, fill=fur[-1] if len(fur) > 2 else coat)
    ear = unit * rng.uniform(0.45, 0.7)
    for side in (-1, 1):
        base = cx + side * unit * 0.55
        draw.polygon(
            [
                (base - ear / 2, cy - unit * 0.5),
                (base + ear / 2, cy - unit * 0.5),
                (base + side * ear * 0.3, cy - unit * 0.5 - ear),
            ],
            fill=coat,
        )
    draw.ellipse([cx - unit * 0.8, cy - unit * 0.75, cx + unit * 0.8, cy + unit * 0.6], fill=coat)
    for colour in fur[1:]:  # stripes or patches
        for _ in range(rng.randrange(2, 6)):
            px, py = cx + rng.uniform(-0.6, 0.6) * unit, cy + rng.uniform(-0.6, 0.3) * unit
            r = unit * rng.uniform(0.08, 0.2)
            draw.ellipse([px - r, py - r * 0.4, px + r, py + r * 0.4], fill=colour)
    eye = unit * rng.uniform(0.12, 0.2)
    iris = rng.choice([(90, 170, 60), (200, 170, 40), (70, 130, 200)])
    for side in (-1, 1):
        ex, ey = cx + side * unit * 0.35, cy - unit * 0.15
        draw.ellipse([ex - eye, ey - eye * 0.8, ex + eye, ey + eye * 0.8], fill=iris)
        draw.ellipse(
            [ex - eye * 0.25, ey - eye * 0.7, ex + eye * 0.25, ey + eye * 0.7], fill=(10, 10, 10)
        )
    nose_y = cy + unit * 0.15
    draw.polygon(
        [(cx - unit * 0.08, nose_y), (cx + unit * 0.08, nose_y), (cx, nose_y + unit * 0.08)],
        fill=(230, 140, 150),
    )
    whisker = max(1, round(unit / 60))
    for side in (-1, 1):
        for k in (-1, 0, 1):
            angle = k * 0.18 + rng.uniform(-0.05, 0.05)
            x1 = cx + side * unit * 1.1 * math.cos(angle)
            y1 = nose_y + unit * 0.1 + unit * 0.4 * math.sin(angle)
            draw.line(
                [(cx + side * unit * 0.12, nose_y + unit * 0.05), (x1, y1)],
                fill=(240, 240, 240),
                width=whisker,
            )
    return img


def make_variant(img: Image.Image, how: str, rng: random.Random) -> Image.Image:
    """A near-copy: smaller, cropped a little, or brighter (re-encoding is the saver's job)."""
    if how == "resized":
        scale = rng.uniform(0.5, 0.8)
        return img.resize(
            (max(8, round(img.width * scale)), max(8, round(img.height * scale))),
            Image.Resampling.LANCZOS,
        )
    if how == "cropped":
        dx, dy = (
            round(img.width * rng.uniform(0.02, 0.05)),
            round(img.height * rng.uniform(0.02, 0.05)),
        )
        return img.crop((dx, dy, img.width - dx, img.height - dy))
    if how == "brightened":
        return ImageEnhance.Brightness(img).enhance(rng.uniform(1.1, 1.25))
    return img.copy()


def save_picture(img: Image.Image, path: Path, quality: int = 90) -> None:
    """Save by suffix: JPEG at `quality`, PNG or WebP."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    buffer = io.BytesIO()
    if suffix in (".jpg", ".jpeg"):
        img.save(buffer, "JPEG", quality=quality)
    elif suffix == ".webp":
        img.save(buffer, "WEBP", quality=quality)
    else:
        img.save(buffer, "PNG")
    data = buffer.getvalue()
    if not (path.exists() and path.read_bytes() == data):  # a re-run keeps mtimes
        path.write_bytes(data)


def write_demo_pictures(
    directory: Path | str,
    count: int = 200,
    seed: int = 42,
    min_side: int = 100,
    max_side: int = 1000,
) -> list[Path]:
    """Draw `count` pictures under directory; about 15% are variants of others."""
    rng = random.Random(seed)
    root = Path(directory)
    originals: list[tuple[Image.Image, Path]] = []
    written: list[Path] = []
    number = 0
    while len(written) < count:
        number += 1
        if originals and rng.random() < VARIANT_SHARE:
            img, source = rng.choice(originals)
            how = rng.choice(VARIANTS)
            path = source.with_name(f"{source.stem}-{how}.jpg")
            if path in written:
                continue
            save_picture(
                make_variant(img, how, rng), path, quality=60 if how == "reencoded" else 90
            )
        else:
            folder = rng.choice(FOLDERS)
            kind = folder.rsplit("/", 1)[-1]
            long_side = rng.randint(min_side, max_side)
            aspect = rng.choice(ASPECTS)
            short_side = max(min_side // 2, round(long_side / aspect))
            width, height = (
                (long_side, short_side) if rng.random() < 0.7 else (short_side, long_side)
            )
            img = draw_cat(rng=rng, width=width, height=height, kind=kind)
            suffix = rng.choices([".jpg", ".png", ".webp"], weights=[8, 1.5, 0.5])[0]
            path = root / folder / f"cat-{number:04d}{suffix}"
            save_picture(img, path)
            if len(originals) < 64:  # variants come from recent originals; memory stays small
                originals.append((img, path))
            else:
                originals[rng.randrange(64)] = (img, path)
        written.append(path)
    return written
