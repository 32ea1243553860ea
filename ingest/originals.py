"""Finding a picture's original file again, safely, for a viewer to show it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlite_utils import Database

from .files import ChangedFile, open_regular
from .store import db_file, path_from_setting, read_settings

# Formats every current browser shows, with their content types.
WEB_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}


@dataclass(frozen=True)
class Original:
    """A source file of a picture that is on this machine and may be shown."""

    path: Path
    content_type: str
    sha256: str
    bytes: int
    mtime: int  # nanoseconds, as ingest saw it

    def open(self) -> BinaryIO:
        """The file, opened without following a link, or ChangedFile when it
        is no longer the file ingest read (other size or time: replaced)."""
        handle, info = open_regular(self.path, follow_links=False)
        if (info.st_size, info.st_mtime_ns) != (self.bytes, self.mtime):
            handle.close()
            raise ChangedFile("the file changed since ingest read it: run cattags ingest again")
        return handle


def find_original(db: Database, image_id: str, max_bytes: int) -> Original | None:
    """The first present source file of a picture, or None.

    Looked up by image id in `files`, never by a path from outside; only a
    regular file that still lies inside the source root once links are
    resolved, has the size and modification time ingest recorded (else it
    was replaced, and its checksum, the ETag, would lie), is a format
    browsers show, and is no larger than max_bytes.
    """
    row = db.execute("SELECT format FROM images WHERE id = ?", [image_id]).fetchone()
    settings = read_settings(db)
    if row is None or row[0] not in WEB_FORMATS or settings.source_root is None:
        return None
    root = os.path.realpath(path_from_setting(db_file(db), settings.source_root))
    files = db.execute(
        "SELECT path, raw_path, sha256, bytes, mtime FROM files"
        " WHERE image_id = ? AND missing_since IS NULL ORDER BY path",
        [image_id],
    ).fetchall()
    for path, raw, sha256, size, mtime in files:
        name = os.fsdecode(raw) if raw else path
        real = os.path.realpath(os.path.join(root, name))
        if not real.startswith(root + os.sep):
            continue  # a link that leads out of the source root
        try:
            info = os.stat(real)
        except OSError:
            continue
        unchanged = (info.st_size, info.st_mtime_ns) == (size, mtime)
        if unchanged and size <= max_bytes and os.path.isfile(real):
            return Original(
                path=Path(real),
                content_type=WEB_FORMATS[row[0]],
                sha256=sha256,
                bytes=size,
                mtime=mtime,
            )
    return None
