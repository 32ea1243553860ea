"""The one owner of an `images` row: built from a picture's metadata (ingest)
or from its thumbnail's text chunks (sync), stored with its thumbnail and
tags, and its thumbnail file written back when it is missing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from sqlite_utils import Database

from .hashing import VARIANT_BYTES, Hashes, hex_to_int64
from .identity import image_id, size_text, thumbnail_name
from .tags import save_tags, tags_from_path
from .thumbnails import write_atomically
from .xmp import kept_xmp

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


def insert_image(
    db: Database,
    row: dict[str, object],
    folder: str,
    png: bytes,
    variants: bytes,
    look: bytes = b"",
) -> None:
    """Store a new picture: its row, its thumbnail's bytes, its variants'
    hashes, its look (when given; else made later from the thumbnail), its
    size and folder tags."""
    version = hashlib.sha256(png).hexdigest()
    # Plain INSERTs: sqlite-utils' insert() looks the table up and wraps each
    # row in a savepoint, a third of the main process's time per picture.
    insert_values(db, "INSERT", "images", {**row, "folder": folder, "thumbnail": version})
    thumbnail = {"image_id": row["id"], "png": png, "sha256": version}
    insert_values(db, "INSERT OR REPLACE", "thumbnails", thumbnail)
    save_variants(db, str(row["id"]), variants)
    if look:
        db.execute("INSERT OR IGNORE INTO looks (image_id, look) VALUES (?, ?)", [row["id"], look])
    save_tags(db, str(row["id"]), [str(row["size"])], "size")
    save_tags(db, str(row["id"]), tags_from_path(folder), "folder")


def insert_values(db: Database, verb: str, table: str, values: dict[str, object]) -> None:
    """One row into `table` (columns named by the keys; values SQLite takes)."""
    columns = ", ".join(f"[{name}]" for name in values)
    marks = ", ".join("?" * len(values))
    db.execute(f"{verb} INTO [{table}] ({columns}) VALUES ({marks})", list(values.values()))


def save_variants(db: Database, identity: str, variants: bytes) -> None:
    """Store a picture's variant hashes unless it has them (nothing when empty)."""
    if variants:
        db.execute(
            "INSERT OR IGNORE INTO variant_hashes (image_id, hashes) VALUES (?, ?)",
            [identity, variants],
        )


def write_back_thumbnail(db: Database, root: Path, identity: str, folder: str) -> bool:
    """Write a picture's thumbnail file from the bytes the database keeps;
    False when it keeps none."""
    row = db.execute("SELECT png FROM thumbnails WHERE image_id = ?", [identity]).fetchone()
    if row is None:
        return False
    write_atomically(root / folder / thumbnail_name(identity), row[0])
    return True
