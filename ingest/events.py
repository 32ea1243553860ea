"""Events: runs of pictures taken close together in time (`images.event`).

A new event starts where the gap between two pictures, in the order they
were taken, exceeds EVENT_GAP (PhotoTOC's idea, Platt et al. 2003, with a
fixed gap). Times with an offset are compared in UTC; times without one as
they read.
"""

from __future__ import annotations

import datetime

from sqlite_utils import Database

from .store import write_transaction

EVENT_GAP = datetime.timedelta(hours=3)  # a gap this long starts a new event


def instant(taken: str) -> datetime.datetime:
    """A comparable time: UTC for a time with an offset, as read otherwise."""
    when = datetime.datetime.fromisoformat(taken)
    if when.tzinfo is not None:
        when = when.astimezone(datetime.UTC).replace(tzinfo=None)
    return when


def save_events(db: Database) -> int | None:
    """Number every picture with a capture time into events (1, 2, ... in
    time order); the number of events, or None when no dated picture is
    new (then nothing is read)."""
    if not db.execute(
        "SELECT 1 FROM images WHERE taken IS NOT NULL AND event IS NULL LIMIT 1"
    ).fetchone():
        return None
    rows = db.execute("SELECT id, taken, event FROM images WHERE taken IS NOT NULL").fetchall()
    stored = {image_id: event for image_id, _, event in rows}
    ordered = sorted((instant(taken), image_id) for image_id, taken, _ in rows)
    changed, event, last = [], 0, None
    for when, image_id in ordered:
        if last is None or when - last > EVENT_GAP:
            event += 1
        if stored[image_id] != event:  # only what moved: a re-run writes nothing
            changed.append((event, image_id))
        last = when
    with write_transaction(db):
        db.execute("UPDATE images SET event = NULL WHERE event IS NOT NULL AND taken IS NULL")
        db.conn.executemany("UPDATE images SET event = ? WHERE id = ?", changed)
    return event
