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


# Of the database file: its change counter (offset 24), which every commit
# in rollback-journal mode increments; of the write-ahead log: its
# checkpoint sequence and salts (offsets 12-24), new at each restart, while
# every commit in WAL mode makes the log longer. With sizes, inodes and times
# they tell a changed database even when a clock's tick is coarse.
HEADERS = ((0, 24, 28), ("-wal", 12, 24))


def file_signature(db) -> tuple | None:
    """What changes when a Datasette database does; None for one in memory."""
    if not db.is_mutable:
        return ("immutable",)
    if not db.path:
        return None
    parts = []
    for suffix, start, end in HEADERS:
        path = db.path + (suffix or "")
        try:
            with open(path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                header = handle.read(end)[start:end]
        except FileNotFoundError:
            parts.append(None)
        else:
            parts.append((stat.st_ino, stat.st_size, stat.st_mtime_ns, header))
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
