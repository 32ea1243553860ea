"""The one owner of storing an `images` row (its shape, built from a
picture's metadata or from its thumbnail's text chunks, is the core's):
stored with its thumbnail and tags, and its thumbnail file written back
when it is missing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlite_utils import Database

from .core import thumbnail_name
from .files import write_atomically
from .tags import save_tags, tags_from_path


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
    insert_values(
        db=db, verb="INSERT", table="images", values={**row, "folder": folder, "thumbnail": version}
    )
    thumbnail = {"image_id": row["id"], "png": png, "sha256": version}
    insert_values(db=db, verb="INSERT OR REPLACE", table="thumbnails", values=thumbnail)
    save_variants(db, str(row["id"]), variants)
    if look:
        db.execute("INSERT OR IGNORE INTO looks (image_id, look) VALUES (?, ?)", [row["id"], look])
    save_tags(db=db, image_id=str(row["id"]), tags=[str(row["size"])], origin="size")
    save_tags(db=db, image_id=str(row["id"]), tags=tags_from_path(folder), origin="folder")


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
