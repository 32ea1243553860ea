"""Opening a file that a scan or a database row said was a regular file,
without trusting that it still is one.

Between the scan and the read a file can be replaced: by a FIFO (a plain
open() waits for a writer forever), by a link to /dev/zero (a plain read()
never ends), or by a larger file. So a file is opened without blocking,
checked on the open descriptor itself, and read no further than the size
it was seen with plus a small margin.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

GROWTH_MARGIN = 1024 * 1024  # bytes a file may have grown since it was seen


class ChangedFile(OSError):
    """A file that is no longer what it was when it was seen."""


def open_regular(
    path: Path | str, seen_bytes: int | None = None, follow_links: bool = True
) -> tuple[BinaryIO, os.stat_result]:
    """The open file and its status, or ChangedFile when it is not a regular
    file or has grown more than GROWTH_MARGIN past `seen_bytes`.

    Without `follow_links`, a link as the last part of the path is refused.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ChangedFile("no longer a regular file (a device, pipe or socket)")
        if seen_bytes is not None and info.st_size > seen_bytes + GROWTH_MARGIN:
            raise ChangedFile(
                f"{info.st_size} bytes now, {seen_bytes} when it was found:"
                " it changed after the scan"
            )
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb"), info
    except BaseException:
        os.close(descriptor)
        raise


def read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """The whole file, or ChangedFile when it holds more than `limit` bytes
    (it grew while it was being read)."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise ChangedFile(f"more than {limit} bytes: the file grew while it was being read")
    return data
