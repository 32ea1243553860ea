"""When a picture was taken (its EXIF dates), and events: runs of pictures
taken close together in time.

`images.taken` is EXIF DateTimeOriginal with its offset when the file has
one (OffsetTimeOriginal), else DateTime (with OffsetTime), else nothing:
never the file's modification time, which copies and downloads change.
Dates a camera could not have written (year 0, year 9999, text) are
nothing too.

A new event starts where the gap between two pictures, in the order they
were taken, exceeds EVENT_GAP (PhotoTOC's idea, Platt et al. 2003, with a
fixed gap). Times with an offset are compared in UTC; times without one as
they read.
"""

from __future__ import annotations

import datetime
import re

from sqlite_utils import Database

from .store import write_transaction

EXIF_IFD = 0x8769  # where DateTimeOriginal and the offsets live
DATE_TIME, DATE_TIME_ORIGINAL = 0x0132, 0x9003
OFFSET_TIME, OFFSET_TIME_ORIGINAL = 0x9010, 0x9011
EVENT_GAP = datetime.timedelta(hours=3)  # a gap this long starts a new event
YEARS = range(1826, 2200)  # the first photograph to well past any camera's clock
EXIF_DATE = re.compile(r"^\s*(\d{4})[:-](\d\d)[:-](\d\d)[ T](\d\d):(\d\d):(\d\d)")
OFFSET = re.compile(r"^\s*([+-])(\d\d):(\d\d)\s*$")


def taken_from_exif(exif) -> str | None:
    """ISO 8601 text of when a picture was taken ("2024-05-01T12:30:00",
    "+02:00" added when known), from a Pillow Exif; None when it says nothing
    usable."""
    try:
        detail = exif.get_ifd(EXIF_IFD)
    except (KeyError, ValueError, TypeError, OSError):
        detail = {}
    for date_tag, offset_tag, where in (
        (DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL, detail),
        (DATE_TIME, OFFSET_TIME, exif),
    ):
        when = parse_exif_date(where.get(date_tag))
        if when is not None:
            return when + parse_offset(detail.get(offset_tag))
    return None


def parse_exif_date(text: object) -> str | None:
    """ "2024:05:01 12:30:00" as "2024-05-01T12:30:00"; None for anything else."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    match = EXIF_DATE.match(text) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    if year not in YEARS:
        return None
    try:
        when = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:  # month 13, 30 February, hour 25
        return None
    return when.isoformat()


def parse_offset(text: object) -> str:
    """ "+02:00" from an EXIF offset, else ""."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    match = OFFSET.match(text) if isinstance(text, str) else None
    if not match or int(match.group(2)) > 14 or int(match.group(3)) > 59:
        return ""
    return f"{match.group(1)}{match.group(2)}:{match.group(3)}"


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
