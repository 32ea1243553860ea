"""Finding a picture's original file again, safely, for a viewer to show it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

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


def find_original(db: Database, image_id: str, max_bytes: int) -> Original | None:
    """The first present source file of a picture, or None.

    Looked up by image id in `files`, never by a path from outside; only a
    regular file that still lies inside the source root once links are
    resolved, has the size ingest recorded, is a format browsers show, and is
    no larger than max_bytes.
    """
    row = db.execute("SELECT format FROM images WHERE id = ?", [image_id]).fetchone()
    settings = read_settings(db)
    if row is None or row[0] not in WEB_FORMATS or "source_root" not in settings:
        return None
    root = os.path.realpath(path_from_setting(db_file(db), settings["source_root"]))
    files = db.execute(
        "SELECT path, raw_path, sha256, bytes FROM files"
        " WHERE image_id = ? AND missing_since IS NULL ORDER BY path",
        [image_id],
    ).fetchall()
    for path, raw, sha256, size in files:
        name = os.fsdecode(raw) if raw else path
        real = os.path.realpath(os.path.join(root, name))
        if not real.startswith(root + os.sep):
            continue  # a link that leads out of the source root
        try:
            info = os.stat(real)
        except OSError:
            continue
        if info.st_size == size and size <= max_bytes and os.path.isfile(real):
            return Original(Path(real), WEB_FORMATS[row[0]], sha256, size)
    return None
