"""Opening the database, settings, and the small writes every command shares."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from .errors import NotACattagsDatabase
from .hashing import hamming
from .schema import ensure_schema

ROOT_SETTINGS = ("source_root", "thumbs_root")  # folders, stored relative to the database


def path_setting(database: Path | str, folder: Path | str) -> str:
    """How a folder is stored in settings: relative to the database's own
    folder when it lies inside it (so a copy or a published database shows no
    home directory), else absolute."""
    base = Path(database).resolve().parent
    folder = Path(folder).resolve()
    return folder.relative_to(base).as_posix() if folder.is_relative_to(base) else str(folder)


def path_from_setting(database: Path | str, value: str) -> Path:
    """A stored folder setting as a path (relative ones are relative to the database)."""
    return Path(database).resolve().parent / value


def thumbs_root(db: Database) -> Path:
    """The thumbnails root of a database ingest has built."""
    return path_from_setting(db_file(db), require_settings(db)["thumbs_root"])


def db_file(db: Database) -> str:
    """The file behind a connection."""
    return db.conn.execute("PRAGMA database_list").fetchone()[2]


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
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    db.conn.execute("PRAGMA journal_mode = WAL")
    db.conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: no corruption
    db.conn.execute("PRAGMA busy_timeout = 30000")  # wait for Datasette's writes
    register_functions(db.conn)
    ensure_schema(db)
    return db


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """A transaction that takes the write lock at its start (BEGIN IMMEDIATE).

    A plain BEGIN reads first and asks for the lock at its first write; if
    another process wrote in between, SQLite answers "database is locked" at
    once, whatever busy_timeout says. Taking the lock first makes a second
    writer wait its turn instead. Inside a transaction already (Datasette 1.0
    wraps writes in one), this is a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.conn.execute("COMMIT")


def begin_immediate(db: Database) -> None:
    """Start a long-lived write transaction (ended by db.commit())."""
    db.conn.execute("BEGIN IMMEDIATE")


def close_database(db: Database) -> None:
    """Fold the write-ahead log into the file and close, so that copies of the
    file (`datasette publish`, immutable opens) hold everything."""
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def read_settings(db: Database) -> dict[str, str]:
    """Every stored setting."""
    return {row["key"]: row["value"] for row in db["settings"].rows}


def save_settings(db: Database, settings: dict[str, object]) -> None:
    """Store or replace settings (folders relative to the database where they can be)."""
    database = db_file(db)
    values = {
        key: path_setting(database, value) if key in ROOT_SETTINGS else str(value)
        for key, value in settings.items()
    }
    db["settings"].upsert_all(
        [{"key": key, "value": value} for key, value in values.items()],
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
