"""`cattags sync`: the database catches up with thumbnails moved on disk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlite_utils import Database

from .core import id_from_thumbnail_name, row_from_chunks, variants_from_chunks
from .moves import next_batch, save_move
from .rows import insert_image, write_back_thumbnail
from .store import clear_errors, save_error, thumbs_root, write_transaction
from .tags import refresh_tags_column
from .thumbnails import MAX_THUMBNAIL_BYTES, iter_thumbnail_files, read_png_metadata

SYNC_ACTOR = "cattags sync"  # the actor recorded for moves made in a file manager
NOT_OURS = "not a cattags thumbnail"  # a PNG named like one, without our metadata


@dataclass
class SyncReport:
    """What sync found and changed."""

    thumbnails: int = 0  # thumbnail files on disk
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # id, from, to
    recreated: list[str] = field(default_factory=list)  # rows rebuilt from PNG metadata
    unknown: list[str] = field(default_factory=list)  # files with no row and no usable metadata
    duplicates: list[str] = field(default_factory=list)  # the same thumbnail in two folders
    missing: list[str] = field(default_factory=list)  # rows whose thumbnail file is gone
    changed: list[str] = field(default_factory=list)  # files whose bytes are not the thumbnail's
    restored: list[str] = field(default_factory=list)  # missing or changed files written back
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): skipped

    def lines(self) -> list[str]:
        """A summary line, then one line per notable picture."""
        lines = [
            f"{self.thumbnails:,} thumbnails, {len(self.moved):,} moved,"
            f" {len(self.recreated):,} rows re-created, {len(self.missing):,} missing,"
            f" {len(self.changed):,} changed, {len(self.restored):,} restored"
        ]
        lines += [f"moved: {i} {a or '.'} -> {b or '.'}" for i, a, b in self.moved]
        lines += [f"re-created from its PNG: {path}" for path in self.recreated]
        lines += [f"not a cattags thumbnail (no metadata): {path}" for path in self.unknown]
        lines += [f"also found at: {path} (kept the first)" for path in self.duplicates]
        lines += [f"thumbnail missing: {i}" for i in self.missing if i not in self.restored]
        lines += [
            f"changed: {path} (its bytes are not this picture's thumbnail;"
            f" {'written back' if path in self.restored else 'sync --restore writes it back'})"
            for path in self.changed
        ]
        lines += [f"skipped: {path} ({reason})" for path, reason in self.problems]
        return lines


def sync_thumbnails(db: Database, restore: bool = False) -> SyncReport:
    """Bring images.folder, tags and moves in line with the thumbnails on disk."""
    root = thumbs_root(db)
    report = SyncReport()
    db.execute("CREATE TEMP TABLE IF NOT EXISTS found (id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM temp.found")
    touched: list[str] = []
    with write_transaction(db):
        batch = next_batch(db)
        for folder, name in iter_thumbnail_files(root, report.problems):
            identity = id_from_thumbnail_name(name)
            relative = f"{folder}/{name}" if folder else name
            report.thumbnails += 1
            if db.execute("INSERT OR IGNORE INTO temp.found VALUES (?)", [identity]).rowcount == 0:
                report.duplicates.append(relative)
                continue
            row = db.execute(
                "SELECT folder, thumbnail FROM images WHERE id = ?", [identity]
            ).fetchone()
            if row is not None and not holds_version(root / relative, row[1]):
                report.changed.append(relative)
            if row is None:
                problem = recreate_row(
                    db=db, path=root / relative, identity=identity, folder=folder
                )
                if problem is None:
                    report.recreated.append(relative)
                    touched.append(identity)
                elif problem == NOT_OURS:
                    report.unknown.append(relative)
                else:
                    report.problems.append((relative, problem))
            elif row[0] != folder:
                save_move(
                    db=db,
                    image_id=identity,
                    from_folder=row[0],
                    to_folder=folder,
                    actor=SYNC_ACTOR,
                    batch=batch,
                )
                report.moved.append((identity, row[0], folder))
                touched.append(identity)
        refresh_tags_column(db, touched)
        for path, reason in report.problems:
            clear_errors(db, path)
            save_error(db=db, path=path, stage="sync", error=reason)
    for identity, folder in db.execute(
        "SELECT id, folder FROM images WHERE id NOT IN (SELECT id FROM temp.found) ORDER BY id"
    ).fetchall():
        report.missing.append(identity)
        if restore and write_back_thumbnail(db=db, root=root, identity=identity, folder=folder):
            report.restored.append(identity)
    for relative in report.changed if restore else []:
        folder, _, name = relative.rpartition("/")
        if write_back_thumbnail(
            db=db, root=root, identity=id_from_thumbnail_name(name), folder=folder
        ):
            report.restored.append(relative)
    return report


def holds_version(path: Path, version: str | None) -> bool:
    """Whether a thumbnail file's bytes have the checksum the database keeps
    (True when it keeps none, or the file cannot be read: reported elsewhere)."""
    if not version:
        return True
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == version
    except OSError:
        return True


def recreate_row(db: Database, path: Path, identity: str, folder: str) -> str | None:
    """Rebuild an images row from the text chunks of its thumbnail.

    None when done; NOT_OURS for a PNG without our metadata; else the reason
    the file could not be used (unreadable, too large, a bomb)."""
    try:
        if path.stat().st_size > MAX_THUMBNAIL_BYTES:
            return "too large to be a thumbnail"
        png = path.read_bytes()
    except OSError as error:
        return f"cannot read the file: {error.strerror or error}"
    try:
        meta = read_png_metadata(png)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return f"too many pixels (decompression bomb?): {error}"
    except UnidentifiedImageError:
        return "not a readable PNG: not a picture Pillow can read"
    except (OSError, SyntaxError, ValueError) as error:
        return f"not a readable PNG: {error}"
    try:
        row = row_from_chunks(meta, (int(meta["thumb_width"]), int(meta["thumb_height"])))
        variants = variants_from_chunks(meta)
    except (KeyError, ValueError):
        return NOT_OURS
    if row["id"] != identity:
        return NOT_OURS
    insert_image(db=db, row=row, folder=folder, png=png, variants=variants)
    return None
