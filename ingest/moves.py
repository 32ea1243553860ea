"""Moving thumbnails between folders: the one place that renames files, logs
moves and adds folder tags, for `cattags sort` and the Datasette plugin."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlite_utils import Database

from .errors import FolderOutsideRoot
from .store import utc_now
from .tags import refresh_tags_column, save_tags, tags_from_path
from .thumbnails import thumbnail_name

MAX_COMPONENT_BYTES = 255  # the longest file name most file systems allow


def safe_folder(root: Path, folder: str) -> str:
    """A folder name from a user, normalised, or FolderOutsideRoot saying why not.

    Relative, no '..', no NUL or control characters, no component over 255
    bytes, and inside the thumbnails root once symlinks are resolved.
    """
    text = folder.strip().replace("\\", "/")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise FolderOutsideRoot("folder names cannot contain control characters")
    if (
        text.startswith("/")
        or PurePosixPath(text).is_absolute()
        or (len(text) > 1 and text[1] == ":")
    ):
        raise FolderOutsideRoot("the folder must be relative to the thumbnails root")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise FolderOutsideRoot("'..' is not allowed in a folder name")
    for part in parts:
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            raise FolderOutsideRoot(f"a folder name is longer than {MAX_COMPONENT_BYTES} bytes")
    clean = "/".join(parts)
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, clean))
    if target != real_root and not target.startswith(real_root + os.sep):
        raise FolderOutsideRoot("that folder leads outside the thumbnails root")
    return clean


def save_move(
    db: Database, image_id: str, from_folder: str, to_folder: str, actor: str, batch: int
) -> None:
    """Record a thumbnail's new folder, add its folder tags, log the move."""
    db.execute("UPDATE images SET folder = ? WHERE id = ?", [to_folder, image_id])
    save_tags(db, image_id, tags_from_path(to_folder), "folder")
    db.execute(
        "INSERT INTO moves (image_id, from_folder, to_folder, actor, at, batch)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [image_id, from_folder, to_folder, actor, utc_now(), batch],
    )


def next_batch(db: Database) -> int:
    """A new batch number for the moves of one action."""
    return db.execute("SELECT coalesce(max(batch), 0) + 1 FROM moves").fetchone()[0]


@dataclass(frozen=True)
class Move:
    """One thumbnail moved (or to be moved)."""

    image_id: str
    from_folder: str
    to_folder: str


def move_thumbnails(
    db: Database, root: Path, targets: list[tuple[str, str]], actor: str, dry_run: bool = False
) -> list[Move]:
    """Move thumbnails to folders, all or nothing.

    Rows change first, files are renamed last inside the same transaction: if
    a rename fails, the renames done so far are undone and no row changes.
    Folder names must already have passed `safe_folder`.
    """
    moves: list[Move] = []
    for image_id, folder in targets:
        row = db.execute("SELECT folder FROM images WHERE id = ?", [image_id]).fetchone()
        if row is None:
            raise KeyError(image_id)
        if row[0] != folder:
            moves.append(Move(image_id, row[0], folder))
    if dry_run or not moves:
        return moves
    done: list[tuple[Path, Path]] = []
    try:
        with db.atomic():
            batch = next_batch(db)
            for move in moves:
                save_move(db, move.image_id, move.from_folder, move.to_folder, actor, batch)
            refresh_tags_column(db, [move.image_id for move in moves])
            for move in moves:
                name = thumbnail_name(move.image_id)
                source = root / move.from_folder / name
                target = root / move.to_folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
                done.append((source, target))
    except BaseException:
        for source, target in reversed(done):
            os.replace(target, source)
        raise
    return moves


def undo_last_batch(db: Database, root: Path, actor: str) -> list[Move]:
    """Put back every picture of the latest batch of moves (itself logged as a move)."""
    row = db.execute("SELECT max(batch) FROM moves").fetchone()
    if row is None or row[0] is None:
        return []
    last = db.execute(
        "SELECT image_id, from_folder FROM moves WHERE batch = ? ORDER BY id", [row[0]]
    ).fetchall()
    return move_thumbnails(
        db, root, [(image_id, folder) for image_id, folder in last], f"{actor} (undo)"
    )
