"""A cattags database opened for use: storing's connection (migrated, in
WAL mode) with the SQL functions the searching layer offers, hamming(),
nearest_images() and looks_like(). Commands, tests and the plugin open
databases here; storing itself never needs the functions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from .core import hamming
from .lookup import StatementClock, looks_like_function, nearest_images_function
from .store import close_database, connect_database, connect_read_only


def open_database(path: Path | str) -> Database:
    """A migrated database in WAL mode with the SQL functions registered."""
    db = connect_database(path)
    register_functions(db.conn)
    return db


def register_functions(conn: sqlite3.Connection, time_limit_ms: int | None = None) -> None:
    """SQL functions every cattags connection offers: hamming(a, b),
    nearest_images(id_or_hash, k) and looks_like(id_or_look, k) (see
    lookup.py), the last two stopping a statement that runs past
    `time_limit_ms`."""
    clock = StatementClock(conn, time_limit_ms) if time_limit_ms else None
    conn.create_function("hamming", 2, hamming, deterministic=True)
    conn.create_function("nearest_images", 2, nearest_images_function(conn, clock))
    conn.create_function("looks_like", 2, looks_like_function(conn, clock))


@contextmanager
def opened(path: Path | str) -> Iterator[Database]:
    """open_database, then close_database when the block succeeds; when it
    fails, roll back what was not committed and close, so the first error is
    the one reported (a checkpoint after a failure would mask it)."""
    db = open_database(path)
    try:
        yield db
    except BaseException:
        db.rollback()
        db.close()
        raise
    close_database(db)


@contextmanager
def reading(path: Path | str) -> Iterator[Database]:
    """A database opened read-only, as it is (never migrated), with the SQL
    functions registered; closed afterwards."""
    db = Database(connect_read_only(path), execute_plugins=False)
    register_functions(db.conn)
    try:
        yield db
    finally:
        db.close()
