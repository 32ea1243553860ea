"""Read one source file and derive everything from a single decode.

This is the part that runs in worker processes: it takes a path, returns a
plain picklable result, and never touches the database.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import xmp
from .camera_raw import is_raw, read_raw
from .core import image_row, least_side, reduction, text_chunks
from .errors import UnreadableImage
from .files import GROWTH_MARGIN, ChangedFile, open_regular, read_at_most
from .hashing import hash_image
from .looks import CLASSIC, LookKind, make_look
from .taken import taken_from_exif
from .thumbnails import encode_png, make_thumbnail, thumbnail_box, upright

# Pillow's own decompression-bomb limit (89.5 megapixels) is kept; its warning
# (above the limit) is treated like its error (above twice the limit).
EIGHT_BIT_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}
BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)
WHOLE_FILE_LIMIT = 64 * 1024 * 1024  # bytes: larger files are read in chunks, never whole
CHUNK_BYTES = 1024 * 1024  # read size for the checksum of a large file
REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "RGBX", "CMYK"}
# 16-bit, 32-bit and float pictures: hashed and thumbnailed from an 8-bit
# grey copy with their levels scaled (see eight_bit).
WIDE_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


@dataclass
class Analysis:
    """Everything ingest stores about one readable picture file."""

    bytes: int
    sha256: str
    image: dict[str, object]
    png: bytes
    png_sha256: str
    variants: bytes  # packed hashes of the picture's variants (hashing.VARIANT_NAMES)
    look: bytes = b""  # how it looks (looks.make_look)
    failed = False


@dataclass
class Failure:
    """A file that could not be used, and why."""

    stage: str
    error: str
    bytes: int | None = None
    sha256: str | None = None
    failed = True


@dataclass(frozen=True)
class Contents:
    """A file's size and checksum, and what to decode: its bytes, or the path
    itself when it is too large to hold in memory."""

    size: int
    sha256: str
    source: bytes | Path


def read_contents(path: Path, seen_bytes: int | None = None) -> Contents:
    """Size, checksum and something to decode, or UnreadableImage saying why not.

    Files up to WHOLE_FILE_LIMIT are read once (checksum and decode from the
    same bytes); larger ones are checksummed in chunks and decoded from disk,
    so a 2 GB file never sits in memory. A file that is no longer a regular
    file, or has grown well past the `seen_bytes` the scan saw, is refused
    before it is read (see opening.py).
    """
    try:
        handle, info = open_regular(path, seen_bytes)
        with handle:
            limit = max(info.st_size, seen_bytes or 0) + GROWTH_MARGIN
            if info.st_size <= WHOLE_FILE_LIMIT:
                data = read_at_most(handle, limit)
                return Contents(len(data), hashlib.sha256(data).hexdigest(), data)
            digest = hashlib.sha256()
            size = 0
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                if size > limit:
                    raise ChangedFile("the file grew while it was being read")
            return Contents(size, digest.hexdigest(), path)
    except ChangedFile as error:
        raise UnreadableImage("read", f"cannot read the file: {error}") from error
    except OSError as error:
        raise UnreadableImage("read", f"cannot read the file: {error.strerror or error}") from error


def decode(contents: Contents, least: int | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """The decoded picture and its full size, or UnreadableImage saying why not.

    With `least`, a JPEG is decoded at 1/8, 1/4 or 1/2 scale (libjpeg's own
    scaled decoding, a fraction of the work), leaving its short side >= `least`.
    """
    if not contents.size:
        raise UnreadableImage("decode", "the file is empty")
    source = contents.source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # notes on skipped metadata
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with ExitStack() as closing:
                if isinstance(source, bytes):
                    handle: BinaryIO = io.BytesIO(source)
                else:  # a large file, decoded from disk: as checked when it was read
                    handle = closing.enter_context(open_regular(source, contents.size)[0])
                if is_heif(handle):
                    read_heif()
                img = Image.open(handle)
                full_size = img.size
                if least and img.format in ("JPEG", "MPO"):  # MPO: a JPEG's first picture
                    img.draft(img.mode, (least, least))
                img.load()
    except BOMB_ERRORS as error:
        raise UnreadableImage(
            "decode", f"too many pixels (decompression bomb?): {error}"
        ) from error
    except UnidentifiedImageError:
        raise UnreadableImage("decode", "not a picture Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UnreadableImage("decode", f"broken picture: {error}") from error
    return img, full_size


def reduced_copy(img: Image.Image, full_size: tuple[int, int], least: int | None) -> Image.Image:
    """The pixels to hash and thumbnail: `img` box-reduced by the factor a
    JPEG's scaled decode would have used; `img` itself if it was decoded at
    a reduced scale already, or its mode is one Pillow's reduce() refuses."""
    if not least or img.size != full_size or img.mode not in REDUCIBLE_MODES:
        return img
    scale = reduction(*full_size, least)
    return img.reduce(scale) if scale > 1 else img


# The brands of a HEIC/HEIF file (bytes 8-12, after its "ftyp" box name);
# AVIF ("avif", which Pillow reads itself) is not one of them.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1"}
HEIF_MISSING = (
    "a HEIC/HEIF picture: reading it needs pillow-heif (pip install 'datasette-cattags[heif]')"
)
_heif_ready = False


def is_heif(handle: BinaryIO) -> bool:
    """Whether a file is HEIC/HEIF, from its first 12 bytes (then rewound)."""
    head = handle.read(12)
    handle.seek(0)
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def read_heif() -> None:
    """Teach Pillow HEIC/HEIF (once a process), or UnreadableImage saying
    what to install."""
    global _heif_ready
    if _heif_ready:
        return
    try:
        import pillow_heif
    except ImportError:
        raise UnreadableImage("decode", HEIF_MISSING) from None
    pillow_heif.register_heif_opener()
    _heif_ready = True


def in_rgb(img: Image.Image) -> Image.Image:
    """An sRGB copy of a CIE Lab picture (Pillow has no LAB to RGB
    conversion; its colour management has, through ImageCms); any other
    picture as it is."""
    if img.mode != "LAB":
        return img
    from PIL import ImageCms

    lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
    return ImageCms.profileToProfile(img, lab, srgb, outputMode="RGB")


def eight_bit(img: Image.Image) -> Image.Image:
    """An 8-bit grey copy of a 16-bit, 32-bit or float picture, its levels
    scaled, not clipped; any other picture as it is.

    Pillow's convert("L"), imagehash's first step, clips every level above
    255 to white: every 16-bit picture hashed as blank and different ones
    merged. 16-bit levels are divided by 257 (so a picture widened from 8
    bits, as v * 257, hashes as its 8-bit self); float levels in 0-1 are
    multiplied by 255; other 32-bit and float levels are kept when they lie
    in 0-255, else stretched from their range.
    """
    if img.mode not in WIDE_MODES:
        return img
    levels = np.nan_to_num(np.asarray(img, dtype=np.float64))
    low, high = (float(levels.min()), float(levels.max())) if levels.size else (0.0, 0.0)
    if img.mode.startswith("I;16"):
        levels = levels / 257
    elif img.mode == "F" and 0 <= low and high <= 1:
        levels = levels * 255
    elif low < 0 or high > 255:
        levels = (levels - low) * (255 / ((high - low) or 1))
    return Image.fromarray(np.clip(np.rint(levels), 0, 255).astype(np.uint8), "L")


def read_xmp(img: Image.Image) -> object:
    """What is kept of the picture's XMP (see xmp.py); {"unreadable": why}
    when malformed."""
    packet = img.info.get("xmp")
    if isinstance(packet, str):  # a PNG text chunk named "xmp": Pillow expects bytes
        packet = img.info["xmp"] = packet.encode()
    size = len(packet) if isinstance(packet, bytes) else 0
    if size > xmp.READ_LIMIT:
        return xmp.unread_packet(size)
    try:
        return xmp.kept_xmp(img.getxmp(), size)
    except (ValueError, SyntaxError) as error:  # malformed XMP packet
        return {"unreadable": str(error)[:200]}


def describe(
    img: Image.Image, band_extrema: tuple, full_size: tuple[int, int] | None = None
) -> dict[str, object]:
    """The prototype's metadata: format, mode, bands, extrema and XMP;
    `full_size` when `img` was decoded at a reduced scale."""
    xmp = read_xmp(img)
    return {
        "width": (full_size or img.size)[0],
        "height": (full_size or img.size)[1],
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


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """A picture's width and height as it is shown (orientations 5-8 turn it
    a quarter)."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def analyse_file(
    path: Path,
    relative: str,
    size: int,
    mode: str = "exact",
    seen_bytes: int | None = None,
    look: LookKind = CLASSIC,
) -> Analysis | Failure:
    """Hash, describe and thumbnail one file; a Failure instead of raising.
    `mode`: "exact" (imagehash's hashes) or "fast" (see FAST_SIDE);
    `seen_bytes`: the file's size when it was scanned; `look`: which look
    to make."""
    contents: Contents | None = None
    # Imported here: a run with nothing to read never loads numba.
    from .pixels import keep_pictures_in_one_block

    keep_pictures_in_one_block()
    try:
        contents = read_contents(path, seen_bytes)
        least = least_side(mode, size)
        if is_raw(relative):
            img, full_size = read_raw(contents.source, relative)
        else:
            img, full_size = decode(contents, least)
        return analyse_image(
            img=img,
            contents=contents,
            relative=relative,
            size=size,
            full_size=full_size,
            least=least,
            look=look,
        )
    except UnreadableImage as error:
        return failure(error.stage, error.message, contents)
    except Exception as error:  # noqa: BLE001 - recorded, never fatal to the run
        return failure("analyse", f"{type(error).__name__}: {error}", contents)


def failure(stage: str, message: str, contents: Contents | None) -> Failure:
    """A Failure carrying the file's size and checksum when it could be read."""
    if contents is None:
        return Failure(stage, message)
    return Failure(stage=stage, error=message, bytes=contents.size, sha256=contents.sha256)


def analyse_image(
    img: Image.Image,
    contents: Contents,
    relative: str,
    size: int,
    full_size: tuple[int, int] | None = None,
    least: int | None = None,
    look: LookKind = CLASSIC,
) -> Analysis:
    """The Analysis of an already decoded picture. Fast mode: `full_size` is
    its size before a scaled decode, and a picture decoded at full size is
    box-reduced to a short side of at least `least` before any pixel work."""
    from .pixels import survey

    pixels = eight_bit(in_rgb(reduced_copy(img, full_size or img.size, least)))
    # One pass over the pixels for the extrema, the thumbnail's first step and
    # the grey levels whash starts from.
    found = survey(pixels, thumbnail_box(pixels.width, pixels.height, size), gray=True)
    reduced = (found.reduced, found.factors) if found and found.reduced else None
    if img.mode in WIDE_MODES:  # the levels as the file holds them
        extrema = img.getextrema()
    else:
        extrema = found.extrema if found else pillow_extrema(pixels)
    with warnings.catch_warnings():
        # Pillow's notes on metadata it skips ("Corrupt EXIF data", palette
        # transparency and the like): the picture itself reads fine.
        warnings.simplefilter("ignore")
        meta = describe(img, extrema, full_size)  # first: it makes a text "xmp" chunk bytes
        exif = img.getexif()
        orientation = exif.get(0x0112, 1)
        meta["width"], meta["height"] = upright_size((meta["width"], meta["height"]), orientation)
        meta["taken"] = taken_from_exif(exif)
        # The picture as it is shown: hashed upright, so a copy that differs
        # only in its orientation flag is a turned copy, not the same picture.
        gray = found.gray if found and found.gray is not None else pixels.convert("L")
        gray = upright(gray, orientation)
        hashes = hash_image(pixels, gray)
        thumb = make_thumbnail(img=pixels, size=size, reduced=reduced, orientation=orientation)
    png = encode_png(thumb, text_chunks(relative, meta, hashes))
    image = image_row(meta, hashes, (thumb.width, thumb.height))
    return Analysis(
        bytes=contents.size,
        sha256=contents.sha256,
        image=image,
        png=png,
        png_sha256=hashlib.sha256(png).hexdigest(),
        variants=hashes.variants,
        look=make_look(kind=look, thumbnail=thumb, picture=pixels, orientation=orientation),
    )
