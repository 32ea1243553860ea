"""Which databases are cattags databases, and what they say about themselves."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ingest.store import path_from_setting

REQUIRED_TABLES = {"images", "thumbnails", "settings", "image_tags"}
IMAGE_ID = re.compile(r"^\d+x\d+_[0-9a-f]{16}$")  # "{w}x{h}_{whash}"
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

    @property
    def can_write(self) -> bool:
        return self.mutable and self.thumbs_root is not None


async def find_library(datasette, database: str) -> Library | None:
    """The cattags view of a database, or None if it is not one."""
    try:
        db = datasette.get_database(database)
    except KeyError:
        return None
    tables = set(await db.table_names())
    if not REQUIRED_TABLES <= tables:
        return None
    rows = await db.execute("select key, value from settings")
    settings = {row["key"]: row["value"] for row in rows}
    config = plugin_settings(datasette, database)
    if config.get("thumbs_root"):
        root: Path | None = Path(config["thumbs_root"])
    elif settings.get("thumbs_root") and db.path:
        root = path_from_setting(db.path, settings["thumbs_root"])
    else:
        root = None
    if root is not None and not root.is_dir():
        root = None
    return Library(database, root, db.is_mutable)


def plugin_settings(datasette, database: str | None) -> dict:
    """The plugin configuration for a database, else the instance-wide one.

    (1.0 stops at a database's own configuration once it has any, so the
    fallback is done here.)
    """
    return (
        datasette.plugin_config(PLUGIN, database=database) or datasette.plugin_config(PLUGIN) or {}
    )


_KNOWN: dict[str, bool] = {}  # database file -> is it a cattags database


def known_library_names(datasette) -> list[str]:
    """Names of attached databases that are cattags databases (read synchronously,
    once per file, for hooks that cannot wait)."""
    names = []
    for name, db in datasette.databases.items():
        path = getattr(db, "path", None)
        if not path:
            continue
        if path not in _KNOWN:
            _KNOWN[path] = _has_tables(path)
        if _KNOWN[path]:
            names.append(name)
    return names


def _has_tables(path: str) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("select name from sqlite_master where type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return REQUIRED_TABLES <= {row[0] for row in rows}
