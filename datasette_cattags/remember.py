"""The unfiltered gallery's counts, kept while the database is unchanged.

At a million pictures every default facet of the unfiltered gallery counts
the whole table (the tag facet alone reads four million index entries, 0.4
s). Those answers change only when the database does: a move from the
gallery, or an ingest. So the facets of the unfiltered page, and the folder
panel, ask through `Remembering`, which answers a query it has seen from
memory while the database file and its write-ahead log are as they were (an
immutable database never changes). A filtered page always asks SQLite.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict

KEPT = 64  # answers kept per process, the oldest dropped first

_ANSWERS: OrderedDict[tuple, tuple[tuple, object]] = OrderedDict()


_WRITES: dict[str, int] = {}  # database path -> writes this process made to it


def wrote(path: str | None) -> None:
    """Say that this process has just written to a database (a move, an
    undo, a decision): its remembered answers are stale."""
    if path:
        _WRITES[path] = _WRITES.get(path, 0) + 1


def file_signature(db) -> tuple | None:
    """What changes when a Datasette database does; None for one in memory.

    This process's own writes are counted (`wrote`); another's (an ingest)
    show in the file's and its write-ahead log's inode, size and time. The
    files are only stat()ed, never opened: closing a descriptor of a
    database file would drop SQLite's POSIX locks on it in this process."""
    if not db.is_mutable:
        return ("immutable",)
    if not db.path:
        return None
    parts: list = [_WRITES.get(db.path, 0)]
    for path in (db.path, db.path + "-wal"):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            parts.append(None)
        else:
            parts.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(parts)


def unfiltered(facet) -> bool:
    """Whether a facet counts the whole table (no filter, no parameters)."""
    return not facet.params and " where " not in facet.sql.lower()


class Remembering:
    """Datasette, for one facet or panel: `execute` answered from memory
    when the same query ran on the database as it is now."""

    def __init__(self, datasette):
        self._datasette = datasette

    def __getattr__(self, name):
        return getattr(self._datasette, name)

    async def execute(self, database, sql, params=None, **options):
        db = self._datasette.get_database(database)
        signature = file_signature(db)  # read before the query: a write during it is seen next time
        if signature is None:
            return await self._datasette.execute(database, sql, params, **options)
        key = (db.path or database, sql, json.dumps(params, sort_keys=True, default=str))
        known = _ANSWERS.get(key)
        if known is not None and known[0] == signature:
            _ANSWERS.move_to_end(key)
            return known[1]
        answer = await self._datasette.execute(database, sql, params, **options)
        _ANSWERS[key] = (signature, answer)
        while len(_ANSWERS) > KEPT:
            _ANSWERS.popitem(last=False)
        return answer
