"""Nearest pictures from SQL in milliseconds: `nearest_images(id_or_hash, k)`.

A SQL function backed by an in-memory index of the whash codes, one per
connection, read from `images` on first use and read again whenever the
database changed (SQLite's `data_version` for other connections' commits,
`total_changes` for this connection's own). A query is one numpy scan of
the codes: no Python call per row, unlike `hamming()` in an ORDER BY.

It returns JSON: `[[rowid, distance], ...]`, nearest first, holding every
picture within the k-th distance (ties included, so that ordering them by
id in SQL gives exactly what a full scan gives). Join it back to images:

    select images.id, json_extract(hit.value, '$[1]') as distance
    from json_each(nearest_images(:id, 10)) as hit
    join images on images.rowid = json_extract(hit.value, '$[0]')
    order by distance, images.id limit 10

What one call may cost is bounded, for a public server's sake:

- It returns at most MAX_HITS pictures, ties included. When more pictures
  tie at the k-th distance than fit, those with the lowest rowids are kept
  and the list ends with `[null, distance, left_out]`: how many pictures at
  that distance were left out (a join on rowid drops that entry).
- Given a time limit (the plugin passes Datasette's `sql_time_limit_ms`),
  the calls of one SQL statement stop when the statement has run that long:
  the function interrupts the statement, which then fails as Datasette's own
  time limit fails it. SQLite's trace callback marks when each statement
  starts, so the connection's trace callback is this module's.

Imports numpy only: the Datasette plugin registers it on every connection.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable

import numpy as np

from .core import hash_to_unsigned, is_image_id
from .looks import LOOK_BYTES, kind_of_version, read_looks
from .settings import Settings
from .store import connect_read_only

MAX_K = 1000  # the most neighbours one call asks for
MAX_HITS = 1000  # the most pictures one call returns, ties included (~20 KB of JSON)


class CodeIndex:
    """The rowids and whash codes of one connection's images table."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.token: tuple[int, int] | None = None
        self.rowids = np.empty(0, dtype=np.int64)
        self.codes = np.empty(0, dtype=np.uint64)

    def fresh(self) -> CodeIndex:
        """Itself, read again if the database changed since it was read."""
        token = change_token(self.conn)
        if token != self.token:
            self.rowids, self.codes = read_codes(self.conn)
            self.token = token
        return self

    def nearest(self, code: int, k: int, exclude: int | None) -> list[list[int | None]]:
        """[[rowid, distance], ...] within the k-th smallest distance, nearest
        first, at most MAX_HITS of them; then [None, distance, left out] when
        ties at the k-th distance did not all fit."""
        if k < 1 or not len(self.codes):
            return []
        distance = np.bitwise_count(self.codes ^ np.uint64(code)).astype(np.int64)
        return closest(distance=distance, rowids=self.rowids, k=k, exclude=exclude)


def change_token(conn: sqlite3.Connection) -> tuple[int, int]:
    """What changes when the database does: SQLite's data_version for other
    connections' commits, total_changes for this connection's own."""
    return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes


def closest(
    distance: np.ndarray, rowids: np.ndarray, k: int, exclude: int | None
) -> list[list[int | None]]:
    """[[rowid, distance], ...] within the k-th smallest distance, nearest
    first (ties by rowid), at most MAX_HITS of them; then [None, distance,
    left out] when ties at the k-th distance did not all fit. `distance`
    (whole numbers, any dtype) is this call's own and may be changed;
    `rowids` ascend; `exclude` is never listed."""
    left_out = 0
    if exclude is not None:
        at = int(np.searchsorted(rowids, exclude))
        if at < len(rowids) and rowids[at] == exclude:
            big = np.inf if distance.dtype.kind == "f" else np.iinfo(distance.dtype).max
            distance[at] = big  # never itself
            left_out = 1
    k = min(k, len(distance) - left_out)
    if k <= 0:
        return []
    kth = np.partition(distance, k - 1)[k - 1]
    closer = np.flatnonzero(distance < kth)
    tied = np.flatnonzero(distance == kth)  # in rowid order: rowids ascend
    room = MAX_HITS - len(closer)
    chosen = np.concatenate([closer[np.lexsort((rowids[closer], distance[closer]))], tied[:room]])
    hits: list[list[int | None]] = [
        [int(r), int(d)] for r, d in zip(rowids[chosen], distance[chosen], strict=True)
    ]
    if len(tied) > room:
        hits.append([None, int(kth), int(len(tied) - room)])
    return hits


def read_codes(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """Every picture's rowid and whash code, in rowid order.

    Read as one string of hex digits that numpy decodes at once (0.2 s at a
    million pictures, against 0.5 s for a million Python tuples): the first
    query of a connection must stay well inside Datasette's time limit. The
    rowids come as a range when they are dense (images rows are never deleted).
    """
    count, low, high = conn.execute(
        "SELECT count(*), min(rowid), max(rowid) FROM images"
    ).fetchone()
    if not count:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    dense = low == 1 and high == count
    text, rowids = conn.execute(
        "SELECT group_concat(whash, ''), "
        + ("NULL" if dense else "json_group_array(rowid)")
        + " FROM (SELECT rowid, whash FROM images ORDER BY rowid)"
    ).fetchone()
    if len(text) != 16 * count:  # a whash that is not 16 hex digits: read row by row
        rows = conn.execute("SELECT rowid, whash_int FROM images ORDER BY rowid").fetchall()
        data = np.array(rows, dtype=np.int64).reshape(-1, 2)
        return data[:, 0].copy(), data[:, 1].view(np.uint64).copy()
    codes = np.frombuffer(bytes.fromhex(text), dtype=">u8").astype(np.uint64)
    if dense:
        return np.arange(1, count + 1, dtype=np.int64), codes
    return np.array(json.loads(rowids), dtype=np.int64), codes


class StatementClock:
    """When the connection's current SQL statement started, from SQLite's
    trace callback (statements run by the functions themselves do not
    count), and whether it has run past `limit_ms`. One per connection: a
    connection has one trace callback."""

    def __init__(self, conn: sqlite3.Connection, limit_ms: int):
        self.limit = limit_ms / 1000
        self.started = time.monotonic()
        self.inside = False
        conn.set_trace_callback(self.statement_started)

    def statement_started(self, _sql: str) -> None:
        if not self.inside:
            self.started = time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() - self.started > self.limit


def nearest_images_function(
    conn: sqlite3.Connection, clock: StatementClock | None = None
) -> Callable[[object, object], str | None]:
    """nearest_images(id_or_hash, k) for one connection (its own index)."""
    index = CodeIndex(conn)

    def answer(query: object, k: int) -> list | None:
        exclude = None
        if is_image_id(query):
            row = conn.execute(
                "SELECT rowid, whash_int FROM images WHERE id = ?", [query]
            ).fetchone()
            if row is None:
                return None
            exclude, code = row[0], row[1] & ((1 << 64) - 1)
        else:
            code = hash_to_unsigned(query)
            if code is None:
                return None
        return index.fresh().nearest(code, k, exclude)

    return bounded(conn, answer, clock)


def looks_like_function(
    conn: sqlite3.Connection, clock: StatementClock | None = None
) -> Callable[[object, object], str | None]:
    """looks_like(id_or_look, k) for one connection: the k pictures whose
    looks are nearest (squared distance, looks.py) to a picture's (itself
    left out) or to a look given as hex."""
    index = LookIndex(conn)

    def answer(query: object, k: int) -> list | None:
        if not isinstance(query, str):
            return None
        exclude = None
        if is_image_id(query):
            row = conn.execute(
                "SELECT images.rowid, looks.look FROM images JOIN looks ON looks.image_id = images.id"
                " WHERE images.id = ?",
                [query],
            ).fetchone()
            if row is None:
                return None
            exclude, look = row
        else:
            try:
                look = bytes.fromhex(query)
            except ValueError:
                return None
        return index.fresh().alike(look, k, exclude)

    return bounded(conn, answer, clock)


def bounded(
    conn: sqlite3.Connection,
    answer: Callable[[object, int], list | None],
    clock: StatementClock | None,
) -> Callable[[object, object], str | None]:
    """A SQL function around `answer(query, k)`: k checked and capped at
    MAX_K, the answer as compact JSON, and with a clock, the statement
    interrupted once it has run past the clock's limit."""

    def function(query: object, k: object) -> str | None:
        if not isinstance(k, int) or isinstance(k, bool):
            return None
        if clock is not None and clock.expired():
            conn.interrupt()  # the statement ends with "interrupted", like Datasette's limit
            return None
        if clock is not None:
            clock.inside = True
        try:
            hits = answer(query, min(k, MAX_K))
        except sqlite3.OperationalError as error:
            if error.args != ("interrupted",):
                raise
            # A time limit stopped the function's own read: stop the statement
            # that called it too, rather than fail with a vaguer error.
            conn.interrupt()
            return None
        finally:
            if clock is not None:
                clock.inside = False
        return None if hits is None else json.dumps(hits, separators=(",", ":"))

    return function


# --- the looks behind looks_like() -------------------------------------------


def row_width(size: int) -> int:
    """The float32 copy's row: a look and zeros up to a multiple of 8 floats.
    Zeros change no distance; rows of 352 bytes rather than 348 scan a
    million looks a quarter faster (the matrix-vector product reads aligned
    rows)."""
    return -(-size // 8) * 8


def squared_distances(matrix: np.ndarray, norms: np.ndarray, look: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances from `look` to every row of `matrix`
    (float32 of small integers: every sum is an exact integer below 2**24)."""
    query = np.zeros(matrix.shape[1], dtype=np.float32)
    query[: len(look)] = look
    distances = matrix @ (query * -2)  # in place from here: no pass over a temporary
    distances += norms
    distances += float(query @ query)
    return distances


class LookIndex:
    """Every picture's rowid and look, for one connection, read again when
    the database changed. The float32 copy of the looks (352 MB at a
    million pictures) is shared by the connections of one process to the
    same file: Datasette opens several."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.token: tuple[int, int] | None = None
        self.rowids = np.empty(0, dtype=np.int64)
        self.matrix = np.empty((0, row_width(LOOK_BYTES)), dtype=np.float32)
        self.size = LOOK_BYTES  # bytes of the looks held
        self.norms = np.empty(0, dtype=np.float32)

    def fresh(self) -> LookIndex:
        """Itself, read again (or taken from another connection's reading)
        if the database changed since it was read."""
        token = change_token(self.conn)
        if token != self.token:
            self.rowids, self.matrix, self.norms = shared_looks(self.conn)
            self.size = looks_size(self.conn)
            self.token = token
        return self

    def alike(self, look: bytes, k: int, exclude: int | None) -> list[list[int | None]] | None:
        """The k nearest looks, as lookup.closest gives them; None for a
        look of the wrong size."""
        if len(look) != self.size:
            return None
        query = np.frombuffer(look, dtype=np.uint8)
        return closest(
            distance=squared_distances(self.matrix, self.norms, query),
            rowids=self.rowids,
            k=k,
            exclude=exclude,
        )


_SHARED: dict[str, tuple[tuple[int, ...], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
_SHARED_LOCK = threading.Lock()


def shared_looks(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rowids, float32 looks, their squared norms) of the pictures with a
    look, in rowid order; one copy per file and process, read again when
    looks were added (looks are only ever added)."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:  # a database in memory: nothing to share
        return looks_by_rowid(conn)
    with _SHARED_LOCK:
        known = _SHARED.get(path)
    if known is not None and known[0] == looks_mark(conn, path):
        return known[1]
    return read_shared(path)


def read_shared(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a file's looks into the shared copy, on a connection of its own:
    a time limit on a caller's statement (Datasette's) must not stop a read
    that every later call reuses (2.5 s at a million looks)."""
    reader = connect_read_only(path)
    try:
        mark, value = looks_mark(reader, path), looks_by_rowid(reader)
    finally:
        reader.close()
    with _SHARED_LOCK:
        _SHARED[path] = (mark, value)
    return value


def warm_looks(path: str) -> None:
    """Read a database's looks into the shared copy ahead of the first
    looks_like() (the plugin does it as Datasette starts)."""
    conn = connect_read_only(path)
    try:
        has_looks = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'looks'").fetchone()
    finally:
        conn.close()
    if has_looks:
        read_shared(path)


def looks_mark(conn: sqlite3.Connection, path: str) -> tuple[int, ...]:
    """What tells one reading of the looks from a later one: how many, the
    last rowid, and the file's inode (a file rebuilt in its place)."""
    # Two queries: count(*) alone is one step (SQLite's count optimisation),
    # max(rowid) alone reads the b-tree's last entry; together they scan.
    count = conn.execute("SELECT count(*) FROM looks").fetchone()[0]
    last = conn.execute("SELECT coalesce(max(rowid), 0) FROM looks").fetchone()[0]
    return (count, last, os.stat(path).st_ino if os.path.exists(path) else 0)


def looks_by_rowid(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rowids, float32 looks, squared norms) of the pictures with a look."""
    most = conn.execute("SELECT count(*) FROM looks").fetchone()[0]
    size = looks_size(conn)
    rowids, looks = read_looks(
        conn.execute(
            "SELECT images.rowid, looks.look FROM looks JOIN images ON images.id = looks.image_id"
            " WHERE length(looks.look) = ? ORDER BY images.rowid",
            [size],
        ),
        most,
        size,
    )
    matrix = np.zeros((len(looks), row_width(size)), dtype=np.float32)
    matrix[:, :size] = looks
    return np.array(rowids, dtype=np.int64), matrix, (matrix * matrix).sum(axis=1)


def looks_size(conn: sqlite3.Connection) -> int:
    """The size of the looks a database holds: its kind's (settings' "look")."""
    rows = dict(conn.execute("SELECT key, value FROM settings").fetchall())
    return kind_of_version(Settings.parse(rows, lenient=True).look).size
