"""Opening the database, settings, and the small writes every command shares."""

from __future__ import annotations

import datetime
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from .errors import DamagedDatabase, DatabaseBusy, NotACattagsDatabase, NotAFolder
from .schema import ensure_schema
from .settings import Settings, settings_rows

BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another one before giving up
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
    """The thumbnails root of a database ingest has built; NotAFolder when
    a file is in its place."""
    root = path_from_setting(db_file(db), require_settings(db).thumbs_root)
    if root.exists() and not root.is_dir():
        raise NotAFolder(f"the thumbnails root {root} is a file, not a folder: nothing changed")
    return root


def db_file(db: Database) -> str:
    """The file behind a connection."""
    return db.conn.execute("PRAGMA database_list").fetchone()[2]


def utc_now() -> str:
    """The current time as UTC ISO 8601, to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


CATTAGS_TABLES = {"images", "thumbnails", "files", "settings"}  # what makes a cattags database


def writable(path: Path | str) -> bool:
    """Whether this process may change the database file (and make its
    journal beside it): False on read-only media or without permission."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    return os.access(folder, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def connect_read_only(path: Path | str) -> sqlite3.Connection:
    """A read-only connection. On read-only media SQLite cannot make the
    shared-memory file a WAL database needs; nothing can change the file
    there, so it is opened as immutable."""
    flag = "mode=ro" if writable(path) else "immutable=1"
    return sqlite3.connect(f"{Path(path).absolute().as_uri()}?{flag}", uri=True)


def database_kind(path: Path | str, check: bool = False) -> str:
    """ "missing", "empty" (no tables), "cattags", or "other", read without
    changing the file; NotACattagsDatabase if it is not SQLite at all. With
    `check`, DamagedDatabase for a cattags database that `PRAGMA
    quick_check` finds faults in (the commands check; the plugin, which
    asks often, does not)."""
    path = Path(path)
    if not path.exists():
        return "missing"
    try:
        conn = connect_read_only(path)
    except sqlite3.DatabaseError as error:
        raise NotACattagsDatabase(f"{path} is not a SQLite database ({error})") from error
    try:
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as error:
            if "malformed" in str(error):
                raise damaged(path, str(error)) from error
            raise NotACattagsDatabase(f"{path} is not a SQLite database ({error})") from error
        kind = "empty" if not tables else "cattags" if CATTAGS_TABLES <= tables else "other"
        if kind == "cattags" and check:
            check_integrity(conn, path)
        return kind
    finally:
        conn.close()


def check_integrity(conn: sqlite3.Connection, path: Path | str) -> None:
    """DamagedDatabase unless SQLite's quick_check finds the file sound
    (it reads every page: ~0.6 s a GB from the page cache)."""
    try:
        found = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as error:
        found = [str(error)]
    if found != ["ok"]:
        lines = [line for text in found for line in text.splitlines() if "***" not in line]
        raise damaged(path, "; ".join(lines[:2]))


def damaged(path: Path | str, found: str) -> DamagedDatabase:
    return DamagedDatabase(
        f"{path} is damaged: `PRAGMA quick_check` finds {found!r}. Nothing was changed;"
        " restore a backup, or rebuild it with cattags ingest into a new --db"
    )


def check_database(path: Path | str, new_ok: bool) -> str:
    """The database's kind, or NotACattagsDatabase before anything touches a
    database that is another program's (or, unless new_ok, one that is new),
    or DamagedDatabase for one that SQLite finds corrupt."""
    kind = database_kind(path, check=True)
    if kind == "other":
        raise NotACattagsDatabase(
            f"{path} is not a cattags database (it holds other tables): nothing was changed"
        )
    if kind != "cattags" and not new_ok:
        where = "no database" if kind == "missing" else "an empty database"
        raise NotACattagsDatabase(f"{where} at {path}: run `cattags ingest` first")
    return kind


def connect_database(path: Path | str) -> Database:
    """A migrated database in WAL mode (library.open_database adds the SQL
    functions)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path, execute_plugins=False)  # no sqlite-utils plugins on our connection
    db.enable_wal()
    db.conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: no corruption
    db.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")  # wait for Datasette's writes
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


@contextmanager
def only_writer(database: Path | str, what: str) -> Iterator[None]:
    """Hold an exclusive lock beside the database for a whole run, so that two
    runs of `what` never interleave; DatabaseBusy at once if one holds it.

    The lock is flock(2) on the database file itself: it lives as long as the
    process (a killed run frees it) and is separate from SQLite's own locks.
    Where the file system has no flock, runs go on unlocked.
    """
    import fcntl

    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CREAT makes an empty file, which SQLite takes as a new database.
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusy(
                f"another {what} is writing to {path}: wait for it to finish, then run again"
            ) from None
        except OSError:
            pass  # no flock here (some network file systems): unlocked, as before
        yield
    finally:
        # Closed last: closing a descriptor of the file drops the process's
        # SQLite (POSIX) locks on it, so only once SQLite is done with it.
        os.close(handle)


def close_database(db: Database) -> None:
    """Fold the write-ahead log into the file and close, so that copies of the
    file (`datasette publish`, immutable opens) hold everything."""
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def read_settings(db: Database) -> Settings:
    """The database's settings (BadSetting for a value that cannot be read)."""
    return Settings.parse({row["key"]: row["value"] for row in db["settings"].rows})


def save_settings(db: Database, settings: dict[str, object]) -> None:
    """Store or replace settings, typed as Settings has them (folders become
    relative to the database where they can be)."""
    database = db_file(db)
    rows = settings_rows(
        **{
            key: path_setting(database, value) if key in ROOT_SETTINGS else value
            for key, value in settings.items()
        }
    )
    db["settings"].upsert_all(
        [{"key": key, "value": value} for key, value in rows.items()], pk="key"
    )


def require_settings(db: Database) -> Settings:
    """Settings of a database ingest has built, or NotACattagsDatabase."""
    settings = read_settings(db)
    if settings.thumbs_root is None:
        raise NotACattagsDatabase(
            "this database has no thumbnails root: run `cattags ingest` first"
        )
    return settings


def save_error(db: Database, path: str, stage: str, error: str) -> None:
    """Record a file that could not be used."""
    db["errors"].insert({"path": path, "stage": stage, "error": error, "at": utc_now()})


def clear_errors(db: Database, path: str) -> None:
    """Forget earlier errors of a file that is about to be tried again."""
    db.execute("DELETE FROM errors WHERE path = ?", [path])
