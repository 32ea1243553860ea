"""When a picture was taken: its EXIF dates (events.py groups them).

`images.taken` is EXIF DateTimeOriginal with its offset when the file has
one (OffsetTimeOriginal), else DateTime (with OffsetTime), else nothing:
never the file's modification time, which copies and downloads change.
Dates a camera could not have written (year 0, year 9999, text) are
nothing too.
"""

from __future__ import annotations

import datetime
import re

EXIF_IFD = 0x8769  # where DateTimeOriginal and the offsets live
DATE_TIME, DATE_TIME_ORIGINAL = 0x0132, 0x9003
OFFSET_TIME, OFFSET_TIME_ORIGINAL = 0x9010, 0x9011
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
