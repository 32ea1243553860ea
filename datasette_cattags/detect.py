"""Which databases are cattags databases, and what they say about themselves."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ingest.core import DEFAULT_SIZE
from ingest.errors import CattagsError
from ingest.settings import Settings
from ingest.store import connect_read_only, database_kind, path_from_setting

PLUGIN = "datasette-cattags"
# Columns that hold an image id, by table, rendered as thumbnails.
IMAGE_ID_COLUMNS = {
    "images": {"nearest_id"},
    "pairs": {"image_a", "image_b"},
    "files": {"image_id"},
    "image_tags": {"image_id"},
    "neighbours": {"image_id", "neighbour_id"},
    "moves": {"image_id"},
    "thumbnails": {"image_id"},
}


@dataclass(frozen=True)
class Library:
    """A cattags database as the plugin sees it."""

    database: str
    thumbs_root: Path | None  # None: not configured, or not present on this machine
    mutable: bool
    thumb_size: int = DEFAULT_SIZE  # longest side of its thumbnails, px (from settings)
    hash_mode: str = "exact"  # "fast": hashed from pictures decoded at a reduced scale

    @property
    def can_write(self) -> bool:
        return self.mutable and self.thumbs_root is not None


async def find_library(datasette, database: str) -> Library | None:
    """The cattags view of a database, or None if it is not one."""
    if database not in known_library_names(datasette):
        return None
    db = datasette.get_database(database)
    rows = await db.execute("select key, value from settings")
    settings = Settings.parse({row["key"]: row["value"] for row in rows}, lenient=True)
    config = plugin_settings(datasette, database)
    if config.get("thumbs_root"):
        root: Path | None = Path(config["thumbs_root"])
    elif settings.thumbs_root and db.path:
        root = path_from_setting(db.path, settings.thumbs_root)
    else:
        root = None
    if root is not None and not root.is_dir():
        root = None
    return Library(
        database=database,
        thumbs_root=root,
        mutable=db.is_mutable,
        thumb_size=settings.thumb_size,
        hash_mode=settings.hash_mode or "exact",
    )


def plugin_settings(datasette, database: str | None) -> dict:
    """The plugin configuration for a database, else the instance-wide one.

    (1.0 stops at a database's own configuration once it has any, so the
    fallback is done here.)
    """
    return (
        datasette.plugin_config(PLUGIN, database=database) or datasette.plugin_config(PLUGIN) or {}
    )


def image_columns(path: str) -> frozenset[str]:
    """The columns of a library's images table (older databases, which
    Datasette serves as they are, lack the newer ones)."""
    conn = connect_read_only(path)
    try:
        return frozenset(row[1] for row in conn.execute("PRAGMA table_info(images)"))
    finally:
        conn.close()


def library_columns(datasette, name: str) -> frozenset[str]:
    """The images columns of a library known_library_names() found."""
    known = getattr(datasette.databases[name], "_cattags_known", None)
    return known[2] if known else frozenset()


def known_library_names(datasette) -> list[str]:
    """Names of attached databases that are cattags databases, read
    synchronously for hooks that cannot wait. The answer is kept on each
    Database object with the file's size and time, so it is read again once
    the file changes (an ingest into a database Datasette already serves)."""
    names = []
    for name, db in datasette.databases.items():
        path = getattr(db, "path", None)
        if not path:
            continue
        known = getattr(db, "_cattags_known", None)
        if known is not None and not db.is_mutable:  # an immutable file never changes
            if known[1]:
                names.append(name)
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue
        stamp = (info.st_mtime_ns, info.st_size)
        if known is None or known[0] != stamp:
            try:
                is_library = database_kind(path) == "cattags"
                columns = image_columns(path) if is_library else frozenset()
            except (CattagsError, sqlite3.Error):  # not SQLite, or damaged: not a library
                is_library, columns = False, frozenset()
            known = (stamp, is_library, columns)
            db._cattags_known = known
        if known[1]:
            names.append(name)
    return names
