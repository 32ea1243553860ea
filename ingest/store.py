"""Opening the database, settings, and the small writes every command shares."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from .errors import NotACattagsDatabase
from .hashing import hamming
from .schema import ensure_schema

SETTING_KEYS = (
    "source_root",  # absolute path ingest read pictures from
    "thumbs_root",  # absolute path thumbnails are written under
    "thumb_size",  # longest side of a thumbnail, px
    "hash_algorithm",  # what names the thumbnails
    "hash_size",  # bits per side of the hash grid
)


def utc_now() -> str:
    """The current time as UTC ISO 8601, to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions every cattags connection offers: hamming(a, b)."""
    conn.create_function("hamming", 2, hamming, deterministic=True)


def open_database(path: Path | str, create: bool = True) -> Database:
    """A migrated database in WAL mode with hamming() registered."""
    path = Path(path)
    if not create and not path.exists():
        raise NotACattagsDatabase(f"no database at {path}")
    db = Database(path)
    db.conn.execute("PRAGMA journal_mode = WAL")
    db.conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: no corruption
    db.conn.execute("PRAGMA busy_timeout = 30000")  # wait for Datasette's writes
    register_functions(db.conn)
    ensure_schema(db)
    return db


def close_database(db: Database) -> None:
    """Fold the write-ahead log into the file and close, so that copies of the
    file (`datasette publish`, immutable opens) hold everything."""
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def read_settings(db: Database) -> dict[str, str]:
    """Every stored setting."""
    return {row["key"]: row["value"] for row in db["settings"].rows}


def save_settings(db: Database, settings: dict[str, object]) -> None:
    """Store or replace settings."""
    db["settings"].upsert_all(
        [{"key": key, "value": str(value)} for key, value in settings.items()],
        pk="key",
    )


def require_settings(db: Database) -> dict[str, str]:
    """Settings of a database ingest has built, or NotACattagsDatabase."""
    settings = read_settings(db)
    if "thumbs_root" not in settings:
        raise NotACattagsDatabase(
            "this database has no thumbnails root: run `cattags ingest` first"
        )
    return settings


def save_error(db: Database, path: str, stage: str, error: str) -> None:
    """Record a file that could not be used."""
    db.execute(
        "INSERT INTO errors (path, stage, error, at) VALUES (?, ?, ?, ?)",
        [path, stage, error, utc_now()],
    )


def clear_errors(db: Database, path: str) -> None:
    """Forget earlier errors of a file that is about to be tried again."""
    db.execute("DELETE FROM errors WHERE path = ?", [path])
