"""Read one source file and derive everything from a single decode.

This is the part that runs in worker processes: it takes a path, returns a
plain picklable result, and never touches the database.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UnreadableImage
from .hashing import hash_image
from .rows import image_row, text_chunks
from .thumbnails import encode_png, make_thumbnail, thumbnail_box

# Pillow's own decompression-bomb limit (89.5 megapixels) is kept; its warning
# (above the limit) is treated like its error (above twice the limit).
EIGHT_BIT_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}
BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)
WHOLE_FILE_LIMIT = 64 * 1024 * 1024  # bytes: larger files are read in chunks, never whole
CHUNK_BYTES = 1024 * 1024  # read size for the checksum of a large file


@dataclass
class Analysis:
    """Everything ingest stores about one readable picture file."""

    bytes: int
    sha256: str
    image: dict[str, object]
    png: bytes
    png_sha256: str
    variants: bytes  # packed hashes of the picture's variants (hashing.VARIANT_NAMES)


@dataclass
class Failure:
    """A file that could not be used, and why."""

    stage: str
    error: str
    bytes: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Contents:
    """A file's size and checksum, and what to decode: its bytes, or the path
    itself when it is too large to hold in memory."""

    size: int
    sha256: str
    source: bytes | Path


def read_contents(path: Path) -> Contents:
    """Size, checksum and something to decode, or UnreadableImage saying why not.

    Files up to WHOLE_FILE_LIMIT are read once (checksum and decode from the
    same bytes); larger ones are checksummed in chunks and decoded from disk,
    so a 2 GB file never sits in memory.
    """
    try:
        size = path.stat().st_size
        if size <= WHOLE_FILE_LIMIT:
            data = path.read_bytes()
            return Contents(len(data), hashlib.sha256(data).hexdigest(), data)
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
        return Contents(size, digest.hexdigest(), path)
    except OSError as error:
        raise UnreadableImage("read", f"cannot read the file: {error.strerror or error}") from error


def decode(contents: Contents) -> Image.Image:
    """A fully decoded picture, or UnreadableImage saying why not."""
    if not contents.size:
        raise UnreadableImage("decode", "the file is empty")
    source = contents.source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            img.load()
    except BOMB_ERRORS as error:
        raise UnreadableImage(
            "decode", f"too many pixels (decompression bomb?): {error}"
        ) from error
    except UnidentifiedImageError:
        raise UnreadableImage("decode", "not a picture Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UnreadableImage("decode", f"broken picture: {error}") from error
    return img


def describe(img: Image.Image, band_extrema: tuple) -> dict[str, object]:
    """The prototype's metadata: format, mode, bands, extrema and XMP."""
    try:
        xmp: object = img.getxmp()
    except (ValueError, SyntaxError) as error:  # malformed XMP packet
        xmp = {"unreadable": str(error)}
    return {
        "width": img.width,
        "height": img.height,
        "format": img.format,
        "format_description": img.format_description,
        "mode": img.mode,
        "bands": list(img.getbands()),
        "extrema": band_extrema,
        "xmp": xmp or None,
    }


def pillow_extrema(img: Image.Image) -> tuple:
    """Equal to img.getextrema(); for 8-bit pictures read off one histogram pass
    (faster than Pillow's band-by-band copies)."""
    if img.mode not in EIGHT_BIT_MODES:
        return img.getextrema()
    counts = np.asarray(img.histogram()).reshape(-1, 256)
    bands = []
    for band in counts:
        present = np.flatnonzero(band)
        bands.append((int(present[0]), int(present[-1])))
    return bands[0] if len(bands) == 1 else tuple(bands)


def analyse_file(path: Path, relative: str, size: int) -> Analysis | Failure:
    """Hash, describe and thumbnail one file; a Failure instead of raising."""
    contents: Contents | None = None
    # Imported here: a run with nothing to read never loads numba.
    from .pixels import keep_pictures_in_one_block

    keep_pictures_in_one_block()
    try:
        contents = read_contents(path)
        img = decode(contents)
        return analyse_image(img, contents, relative, size)
    except UnreadableImage as error:
        return failure(error.stage, error.message, contents)
    except Exception as error:  # noqa: BLE001 - recorded, never fatal to the run
        return failure("analyse", f"{type(error).__name__}: {error}", contents)


def failure(stage: str, message: str, contents: Contents | None) -> Failure:
    """A Failure carrying the file's size and checksum when it could be read."""
    if contents is None:
        return Failure(stage, message)
    return Failure(stage, message, contents.size, contents.sha256)


def analyse_image(img: Image.Image, contents: Contents, relative: str, size: int) -> Analysis:
    """The Analysis of an already decoded picture."""
    from .pixels import survey

    # One pass over the pixels for the extrema and the thumbnail's first step.
    found = survey(img, thumbnail_box(img.width, img.height, size))
    meta = describe(img, found.extrema if found else pillow_extrema(img))
    reduced = (found.reduced, found.factors) if found and found.reduced else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # palette-transparency notes and the like
        hashes = hash_image(img)
        thumb = make_thumbnail(img, size, reduced)
    png = encode_png(thumb, text_chunks(relative, meta, hashes))
    image = image_row(meta, hashes, (thumb.width, thumb.height))
    return Analysis(
        bytes=contents.size,
        sha256=contents.sha256,
        image=image,
        png=png,
        png_sha256=hashlib.sha256(png).hexdigest(),
        variants=hashes.variants,
    )
