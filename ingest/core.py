"""The shared vocabulary of every layer (reading, storing, searching, the
commands and the plugin), in one place:

- what names a picture: its id, "{w}x{h}_{whash}", its thumbnail's file
  name, "{id}_.png", and a thumbnail's default size;
- hash codes: 16-digit hex, SQLite's signed 64-bit integers, unsigned
  values, Hamming distance, and the packed hashes of a picture's variants;
- the row shape: an `images` row and the PNG text chunks that carry it;
- size rules: how far the fast mode reduces a picture before reading it.

It imports only the core's other modules (xmp's rule for what is kept) and
nothing outside the standard library but numpy: the serving install
imports it too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from .xmp import kept_xmp

DEFAULT_SIZE = 64  # px, longest side: the prototype found 64 "just about right"
IMAGE_ID = re.compile(r"^(\d+)x(\d+)_([0-9a-f]{16})$")
THUMBNAIL_NAME = re.compile(r"^(\d+)x(\d+)_([0-9a-f]{16})_\.png$")
THUMBNAIL_SUFFIX = "_.png"


def size_text(width: int, height: int) -> str:
    """A picture's size as the `size` column and its tag spell it: "{w}x{h}"."""
    return f"{width}x{height}"


def image_id(width: int, height: int, whash: str) -> str:
    """The picture's identity: "{w}x{h}_{whash}"."""
    return f"{size_text(width, height)}_{whash}"


def is_image_id(value: object) -> bool:
    """Whether a value is a picture's id."""
    return isinstance(value, str) and IMAGE_ID.match(value) is not None


def thumbnail_name(identity: str) -> str:
    """File name of a thumbnail: "{w}x{h}_{whash}_.png"."""
    return f"{identity}{THUMBNAIL_SUFFIX}"


def id_from_thumbnail_name(name: str) -> str | None:
    """The identity in a thumbnail file name, or None if it is not one."""
    return name[: -len(THUMBNAIL_SUFFIX)] if THUMBNAIL_NAME.match(name) else None


# --- hash codes ---------------------------------------------------------------

MASK64 = (1 << 64) - 1
HEX_HASH = re.compile(r"[0-9a-fA-F]{1,16}")  # what hamming() accepts as text
VARIANT_HASHES = ("whash", "phash", "dhash")  # per variant, in this order
VARIANT_BYTES = 8 * len(VARIANT_HASHES)  # one variant's packed hashes


@dataclass(frozen=True)
class Hashes:
    """The hashes of one picture, as 16-digit lowercase hex, and the packed
    hashes of its variants (see `VARIANT_NAMES`), empty when not computed."""

    whash: str
    phash: str
    dhash: str
    variants: bytes = b""


def unpack_variants(packed: bytes | None) -> np.ndarray:
    """Packed variant hashes as a (variants, 3) uint64 array; (0, 3) when none."""
    if not packed:
        return np.empty((0, len(VARIANT_HASHES)), dtype=np.uint64)
    return np.frombuffer(packed, dtype="<u8").astype(np.uint64).reshape(-1, len(VARIANT_HASHES))


def hex_to_int64(value: str) -> int:
    """Signed 64-bit view of a 16-digit hex hash, as SQLite stores integers."""
    unsigned = int(value, 16)
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def int64_to_hex(value: int) -> str:
    """Inverse of hex_to_int64."""
    return f"{value & MASK64:016x}"


def hash_to_unsigned(value: object) -> int | None:
    """An unsigned 64-bit value from hex text or an integer; None when malformed."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if -(1 << 63) <= value <= MASK64:
            return value & MASK64
        return None
    if isinstance(value, str) and HEX_HASH.fullmatch(value):
        return int(value, 16)
    return None


def hamming(a: object, b: object) -> int | None:
    """Bits that differ between two 64-bit hashes (hex text or integers), else None."""
    x, y = hash_to_unsigned(a), hash_to_unsigned(b)
    if x is None or y is None:
        return None
    return (x ^ y).bit_count()


# --- the row shape ------------------------------------------------------------

# Metadata keys and the names of the PNG text chunks that carry them (the
# prototype called the extrema "extremes").
CHUNK_NAMES = {"extrema": "extremes"}
META_KEYS = tuple("width height format format_description mode bands extrema xmp taken".split())
JSON_KEYS = ("bands", "extrema", "xmp")  # stored as JSON text
# What each file keeps of its own reading (files of one picture can differ).
FILE_READING = ("format", "mode", "whash", "phash", "dhash", "variants")


def text_chunks(relative: str, meta: dict[str, object], hashes: Hashes) -> dict[str, object]:
    """The text chunks a thumbnail carries (non-strings become JSON)."""
    return {
        "filename": PurePosixPath(relative).name,
        "path": relative,
        **{CHUNK_NAMES.get(key, key): meta[key] for key in META_KEYS},
        "whash": hashes.whash,
        "phash": hashes.phash,
        "dhash": hashes.dhash,
        "variants": hashes.variants.hex(),
    }


def image_row(meta: dict[str, object], hashes: Hashes, thumb: tuple[int, int]) -> dict[str, object]:
    """An images row (without folder and thumbnail version) from a picture's
    metadata (Python values), its hashes and its thumbnail's size."""
    width, height = int(meta["width"]), int(meta["height"])
    row: dict[str, object] = {
        "id": image_id(width, height, hashes.whash),
        "size": size_text(width, height),
        **{key: meta.get(key) for key in META_KEYS},
    }
    for key in JSON_KEYS:
        row[key] = None if row[key] is None else json.dumps(row[key])
    for name in ("whash", "phash", "dhash"):
        value = getattr(hashes, name)
        row[name] = value
        row[f"{name}_int"] = hex_to_int64(value) if value else None
    row["thumb_width"], row["thumb_height"] = thumb
    row["flat"] = int(is_flat(meta.get("extrema")))
    return row


def is_flat(extrema: object) -> bool:
    """Whether a picture's extrema ((low, high), or one such pair a band)
    say every pixel has the same colour."""
    if not isinstance(extrema, (list, tuple)) or not extrema:
        return False
    bands = [extrema] if not isinstance(extrema[0], (list, tuple)) else extrema
    return all(len(band) == 2 and band[0] == band[1] for band in bands)


def row_from_chunks(chunks: dict[str, str], thumb: tuple[int, int]) -> dict[str, object]:
    """The same row rebuilt from a thumbnail's text chunks (KeyError or
    ValueError when they are not ours)."""
    meta: dict[str, object] = {
        key: chunks.get(CHUNK_NAMES.get(key, key)) for key in META_KEYS if key not in JSON_KEYS
    }
    meta["width"], meta["height"] = int(chunks["width"]), int(chunks["height"])
    for key in JSON_KEYS:
        text = chunks.get(CHUNK_NAMES.get(key, key))
        meta[key] = None if text in (None, "null") else json.loads(text)
    if meta["xmp"] is not None:  # a thumbnail made before XMP was capped
        meta["xmp"] = kept_xmp(meta["xmp"], len(chunks["xmp"]))
    hashes = Hashes(chunks["whash"], chunks.get("phash"), chunks.get("dhash"))
    return image_row(meta, hashes, thumb)


def variants_from_chunks(chunks: dict[str, str]) -> bytes:
    """The packed variant hashes a thumbnail carries (empty for thumbnails
    made before variants were hashed; ValueError when malformed)."""
    packed = bytes.fromhex(chunks.get("variants") or "")
    if len(packed) % VARIANT_BYTES:
        raise ValueError(
            f"variant hashes of {len(packed)} bytes, not a multiple of {VARIANT_BYTES}"
        )
    return packed


# --- size rules ---------------------------------------------------------------

# Fast mode: a picture is decoded (JPEG) or box-reduced (anything else) by the
# largest of 8, 4 or 2 that leaves its short side at least this many pixels,
# before it is hashed and thumbnailed. Its hashes are then not imagehash's.
FAST_SIDE = 256


def least_side(mode: str, size: int) -> int | None:
    """The short side `mode` reads a picture down to (None: read it whole),
    for thumbnails of `size` px."""
    return max(FAST_SIDE, size) if mode == "fast" else None


def reduction(width: int, height: int, least: int) -> int:
    """The largest of 8, 4, 2 and 1 that leaves both sides >= `least` (the
    factor Pillow's JPEG `draft` picks for a request of least x least)."""
    fits = min(width // least, height // least)
    return next(scale for scale in (8, 4, 2, 1) if fits >= scale or scale == 1)
