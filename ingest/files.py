"""Files and their names, as every layer needs them: a path as SQLite can
store it, the characters a folder name may not hold, a file written so that
readers see all of it or nothing, and a file opened only while it is still
the regular file a scan or a database row said it was.

Opening. Between the scan and the read a file can be replaced: by a FIFO (a plain
open() waits for a writer forever), by a link to /dev/zero (a plain read()
never ends), or by a larger file. So a file is opened without blocking,
checked on the open descriptor itself, and read no further than the size
it was seen with plus a small margin.
"""

from __future__ import annotations

import os
import stat
import unicodedata
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


# --- names --------------------------------------------------------------------


def storable(relative: str) -> str:
    """A relative path as text SQLite can store: names that are not UTF-8 (old
    cameras, Latin-1 archives) keep every valid part and show each other byte
    as `\\xNN`; `files.raw_path` keeps the exact bytes."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(relative).decode("utf-8", "backslashreplace")
    return relative


# Characters a folder name may not hold: controls, and the invisible ones
# (bidi overrides, zero-width spaces, byte-order marks, line separators) that
# make two different folders look the same. Folder names become tags.
REFUSED_CATEGORIES = {"Cc": "control", "Cf": "invisible", "Zl": "line", "Zp": "paragraph"}


def refused_character(name: str) -> str | None:
    """Why a folder name cannot be a folder of thumbnails (its first control
    or invisible character), else None."""
    for ch in name:
        kind = REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if kind:
            return f"folder names cannot contain {kind} characters (U+{ord(ch):04X})"
    return None


def visible(name: str) -> str:
    """A name with its control and invisible characters written as \\uXXXX,
    so a message about it stays on one line and shows what is there."""
    return "".join(f"\\u{ord(ch):04X}" if refused_character(ch) else ch for ch in name)


def raw_bytes(relative: str) -> bytes | None:
    """The exact bytes of a path that is not UTF-8, else None."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(relative)
    return None


# --- writing ------------------------------------------------------------------

TEMP_PREFIX = ".cattags-tmp-"  # partial writes; never a thumbnail, swept on start


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that readers see either nothing or all of it."""
    temp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        handle = open(temp, "wb")  # noqa: SIM115 - closed before the rename
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(temp, "wb")  # noqa: SIM115
    try:
        with handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def sweep_temp_files(root: Path) -> int:
    """Remove partial writes left by a killed run; return how many."""
    removed = 0
    if not root.is_dir():
        return 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                os.unlink(os.path.join(directory, name))
                removed += 1
    return removed
