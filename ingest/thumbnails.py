"""Thumbnails: a small PNG that carries the picture's metadata in text chunks."""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from .core import DEFAULT_SIZE, THUMBNAIL_NAME
from .files import raw_bytes, refused_character, storable, visible

REDUCING_GAP = 2.0  # Pillow's thumbnail rule: box-reduce to >= 2x the size, then resample
PNG_COMPRESSION = 3  # zlib level: twice as fast as the default 6, files ~8% larger
MAX_THUMBNAIL_PIXELS = 1024 * 1024  # the largest --size is 1024 px a side
MAX_THUMBNAIL_BYTES = 16 * 1024 * 1024  # a file larger than this is not one of ours

# EXIF orientation -> the transposes that show the picture upright.
ORIENTATION = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}
DIRECT_MODES = {"RGB", "RGBA", "L", "LA"}  # resized as they are
SMALL_CONVERT_MODES = {"CMYK", "YCbCr", "LAB", "HSV"}  # resized, then made RGB


def thumbnail_box(width: int, height: int, size: int) -> tuple[int, int]:
    """Longest side at most `size`, aspect kept, never enlarged, never zero."""
    scale = min(1.0, size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def displayable(img: Image.Image) -> Image.Image:
    """The picture in a mode that resizes well and saves as PNG."""
    if img.mode in DIRECT_MODES or img.mode in SMALL_CONVERT_MODES:
        return img
    if img.mode in ("P", "PA"):
        has_alpha = img.mode == "PA" or "transparency" in img.info
        return img.convert("RGBA" if has_alpha else "RGB")
    if img.mode == "1":
        return img.convert("L")
    if img.mode.startswith("I") or img.mode == "F":
        # 16-bit and float pictures: stretch their range to 8 bits.
        pixels = np.asarray(img, dtype=np.float64)
        low, high = float(pixels.min()), float(pixels.max())
        span = high - low or 1.0
        return Image.fromarray(((pixels - low) * (255.0 / span)).astype(np.uint8))
    return img.convert("RGB")


def make_thumbnail(
    img: Image.Image,
    size: int = DEFAULT_SIZE,
    reduced: tuple[Image.Image, tuple[int, int]] | None = None,
    orientation: int | None = None,
) -> Image.Image:
    """A thumbnail of `img`, longest side <= size, turned upright by its EXIF
    (or by `orientation`, the EXIF value of the file `img` was made from).

    `reduced`: the picture already shrunk by whole factors (x, y) with a box
    filter, the first of the two steps Pillow takes with a reducing gap."""
    source = displayable(img)
    box = thumbnail_box(source.width, source.height, size)
    if reduced is not None:
        start, (fx, fy) = reduced
        region = (0.0, 0.0, source.width / fx, source.height / fy)
        thumb = start.resize(box, Image.Resampling.LANCZOS, box=region)
    else:
        thumb = source.resize(box, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    if thumb.mode in SMALL_CONVERT_MODES:
        thumb = thumb.convert("RGB")
    if orientation is None:
        orientation = img.getexif().get(0x0112, 1)
    return upright(thumb, orientation)


def upright(img: Image.Image, orientation: int) -> Image.Image:
    """The picture turned as its EXIF orientation says it is shown."""
    for transpose in ORIENTATION.get(orientation, []):
        img = img.transpose(transpose)
    return img


def encode_png(thumb: Image.Image, metadata: dict[str, object]) -> bytes:
    """PNG bytes with one text chunk per metadata key (non-strings as JSON)."""
    info = PngInfo()
    for key, value in metadata.items():
        text = value if isinstance(value, str) else json.dumps(value)
        info.add_text(key, text)
    buffer = io.BytesIO()
    thumb.save(buffer, "PNG", pnginfo=info, compress_level=PNG_COMPRESSION)
    return buffer.getvalue()


def read_png_metadata(png: bytes) -> dict[str, str]:
    """The text chunks of a thumbnail, plus its own thumb_width and thumb_height.

    Pillow's decompression-bomb warning is an error here, as in ingest."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = Image.open(io.BytesIO(png))
    with img:
        if img.width * img.height > MAX_THUMBNAIL_PIXELS:
            raise ValueError(f"{img.width}x{img.height} is too large for a thumbnail")
        img.load()
        text = dict(getattr(img, "text", {}))
        return {**text, "thumb_width": str(img.width), "thumb_height": str(img.height)}


def iter_thumbnail_files(
    root: Path, problems: list[tuple[str, str]] | None = None
) -> Iterator[tuple[str, str]]:
    """(folder, name) of every thumbnail file under root, folder relative ('' at
    the top), sorted. Walks with its own stack (any depth); what cannot be a
    thumbnail although named like one (a pipe, a folder name that is not
    UTF-8) goes into `problems` as (path, reason) and is never opened."""
    problems = [] if problems is None else problems
    stack = [""]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(os.path.join(root, folder)) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            problems.append((folder or ".", f"cannot list the folder: {error.strerror}"))
            continue
        below = []
        for entry in entries:
            relative = f"{folder}/{entry.name}" if folder else entry.name
            if entry.is_dir(follow_symlinks=False):
                if raw_bytes(entry.name) is not None:
                    reason = "folder name is not UTF-8: rename it to use what it holds"
                    problems.append((storable(relative), reason))
                elif refused := refused_character(entry.name):  # the web move's rule
                    problems.append((visible(relative), f"{refused}: rename it to use it"))
                else:  # a folder the database can name
                    below.append(relative)
            elif THUMBNAIL_NAME.match(entry.name):
                if entry.is_file():
                    yield folder, entry.name
                else:
                    problems.append((relative, "not a regular file"))
        stack.extend(reversed(below))
