"""Moving thumbnails between folders: the one place that renames files, logs
moves, makes folder tags current or earlier and undoes moves, for `cattags
sort`, `cattags sync` and the Datasette plugin."""

from __future__ import annotations

import filecmp
import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from .core import thumbnail_name
from .errors import (
    FileInTheWay,
    FolderOutsideRoot,
    MissingThumbnails,
    NotAFolder,
    TooManyPictures,
    UnknownPicture,
)
from .files import refused_character
from .store import utc_now, write_transaction
from .tags import EARLIER, refresh_tags_column, save_tags, tags_from_path

MAX_COMPONENT_BYTES = 255  # the longest file name most file systems allow
UNDO_SUFFIX = " (undo)"  # appended to the actor of the moves an undo makes
MOST_AT_ONCE = 10_000  # pictures one move from the gallery takes (its request stays ~400 KB)


def safe_folder(root: Path, folder: str) -> str:
    """A folder name from a user, normalised (NFC), or FolderOutsideRoot saying why not.

    Relative, no '..', no control or invisible characters, no component over
    255 bytes, not an existing file, and inside the thumbnails root once
    symlinks are resolved.
    """
    text = unicodedata.normalize("NFC", folder.strip().replace("\\", "/"))
    refused = refused_character(text)
    if refused:
        raise FolderOutsideRoot(refused)
    drive = os.name == "nt" and len(text) > 1 and text[1] == ":"
    if text.startswith("/") or drive:
        raise FolderOutsideRoot("the folder must be relative to the thumbnails root")
    if os.name == "nt" and ":" in text:
        raise FolderOutsideRoot("folder names cannot contain ':' on Windows")
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
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        if os.path.lexists(os.path.join(root, prefix)) and not os.path.isdir(
            os.path.join(root, prefix)
        ):
            raise NotAFolder(f"'{prefix}' is a file, not a folder")
    return clean


@dataclass(frozen=True)
class Move:
    """One thumbnail moved (or to be moved)."""

    image_id: str
    from_folder: str
    to_folder: str


def save_move(
    db: Database, image_id: str, from_folder: str, to_folder: str, actor: str, batch: int
) -> None:
    """Record a thumbnail's new folder and log the move. Its new folder's
    tags become current (added, or back from "earlier folder"); the folder
    tags of where it was become "earlier folder". The log keeps what changed,
    which its undo takes back."""
    had = dict(
        db.execute("SELECT tag, origin FROM image_tags WHERE image_id = ?", [image_id]).fetchall()
    )
    wanted = list(dict.fromkeys(tags_from_path(to_folder)))
    added = [tag for tag in wanted if tag not in had]
    changed = {tag: EARLIER for tag in wanted if had.get(tag) == EARLIER}
    changed.update({tag: "folder" for tag, o in had.items() if o == "folder" and tag not in wanted})
    db.execute("UPDATE images SET folder = ? WHERE id = ?", [to_folder, image_id])
    save_tags(db=db, image_id=image_id, tags=added, origin="folder")
    db.conn.executemany(
        "UPDATE image_tags SET origin = ? WHERE image_id = ? AND tag = ?",
        [("folder" if was == EARLIER else EARLIER, image_id, tag) for tag, was in changed.items()],
    )
    db.execute(
        "INSERT INTO moves (image_id, from_folder, to_folder, actor, at, batch, tags_added,"
        " tags_changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            image_id,
            from_folder,
            to_folder,
            actor,
            utc_now(),
            batch,
            json.dumps(added),
            json.dumps(changed),
        ],
    )


def next_batch(db: Database) -> int:
    """A new batch number for the moves of one action."""
    return db.execute("SELECT coalesce(max(batch), 0) + 1 FROM moves").fetchone()[0]


@dataclass(frozen=True)
class Outcome:
    """What a move or an undo did, and how things stand after it (for a view
    that updates the page in place)."""

    moves: list[Move]
    tags: dict[str, list[str]]  # image id -> its tags now
    folders: list[tuple[str, int]]  # every folder with pictures -> how many


def outcome(db: Database, moves: list[Move]) -> Outcome:
    """The Outcome of moves just made."""
    ids = [move.image_id for move in moves]
    marks = ",".join("?" * len(ids))
    tags = {
        row[0]: json.loads(row[1])
        for row in db.execute(f"SELECT id, tags FROM images WHERE id IN ({marks})", ids)
    }
    folders = [
        (row[0], row[1])
        for row in db.execute("SELECT folder, count(*) FROM images GROUP BY folder ORDER BY folder")
    ]
    return Outcome(moves, tags, folders)


def move_thumbnails(
    db: Database, root: Path, targets: list[tuple[str, str]], actor: str, dry_run: bool = False
) -> list[Move]:
    """Move thumbnails to folders, all or nothing; UnknownPicture if an id is unknown.

    Folder names must already have passed `safe_folder`.
    """
    moves, unknown = plan_moves(db, targets)
    if unknown:
        raise UnknownPicture(unknown)
    if not dry_run:
        apply_moves(db=db, root=root, moves=moves, actor=actor)
    return moves


def move_to_folder(
    db: Database, root: Path, image_ids: list[str], folder: str, actor: str
) -> Outcome:
    """The gallery's move: check the folder and the ids, then move, all or
    nothing, in one batch (one undo); FolderOutsideRoot, UnknownPicture or
    TooManyPictures (over MOST_AT_ONCE) when it cannot."""
    clean = safe_folder(root, folder)
    targets = [(i, clean) for i in dict.fromkeys(image_ids)]
    if len(targets) > MOST_AT_ONCE:
        raise TooManyPictures(
            f"{len(targets):,} pictures at once: one move takes at most {MOST_AT_ONCE:,};"
            " narrow the selection (a folder, a tag, a look-alike group)"
        )
    return outcome(db, move_thumbnails(db=db, root=root, targets=targets, actor=actor))


def plan_moves(db: Database, targets: list[tuple[str, str]]) -> tuple[list[Move], list[str]]:
    """The moves that change something, and the ids that are not in the database."""
    moves: list[Move] = []
    unknown: list[str] = []
    for image_id, folder in targets:
        row = db.execute("SELECT folder FROM images WHERE id = ?", [image_id]).fetchone()
        if row is None:
            unknown.append(image_id)
        elif row[0] != folder:
            moves.append(Move(image_id, row[0], folder))
    return moves, unknown


def apply_moves(
    db: Database,
    root: Path,
    moves: list[Move],
    actor: str,
    also: Callable[[int], None] | None = None,
) -> None:
    """Rows first, files last, in one write transaction: if a rename or the
    commit fails, the renames done so far are undone and no row changes.
    `also(batch)` runs inside the transaction before the files move.
    Checked first (see check_moves): nothing moves if any move cannot."""
    check_moves(root, moves)
    done: list[tuple[Path, Path]] = []
    try:
        with write_transaction(db):
            batch = next_batch(db)
            for move in moves:
                save_move(
                    db=db,
                    image_id=move.image_id,
                    from_folder=move.from_folder,
                    to_folder=move.to_folder,
                    actor=actor,
                    batch=batch,
                )
            if also is not None:
                also(batch)
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


def check_moves(root: Path, moves: list[Move]) -> None:
    """FolderOutsideRoot or NotAFolder for a target folder the web move
    would refuse (a link out of the root, a file), MissingThumbnails, or
    FileInTheWay for a different file of the same name in a target folder."""
    for folder in sorted({move.to_folder for move in moves}):
        try:
            safe_folder(root, folder)
        except FolderOutsideRoot as error:
            raise type(error)(f"{folder}: {error}; nothing moved") from None
    missing = [
        f"{move.from_folder}/{thumbnail_name(move.image_id)}".lstrip("/")
        for move in moves
        if not (root / move.from_folder / thumbnail_name(move.image_id)).is_file()
    ]
    if missing:
        raise MissingThumbnails(
            f"{len(missing)} thumbnail file{'s are' if len(missing) > 1 else ' is'} missing"
            f" from {root} ({missing[0]} first): run `cattags sync --restore` to write them back;"
            " nothing moved"
        )
    for move in moves:
        name = thumbnail_name(move.image_id)
        target = root / move.to_folder / name
        if os.path.lexists(target) and not same_file_contents(
            target, root / move.from_folder / name
        ):
            raise FileInTheWay(
                f"{move.to_folder}/{name} is already there and is another file:"
                " move or delete it first; nothing moved"
            )


def same_file_contents(a: Path, b: Path) -> bool:
    """Whether two paths are regular files with the same bytes."""
    try:
        return a.is_file() and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def undo(db: Database, root: Path, actor: str) -> Outcome:
    """Reverse this actor's latest move not yet undone: each picture goes back
    to its folder before that move, with its tags as they were before it. Undo
    again reverses the move before it. No moves when there is nothing to undo."""
    row = db.execute(
        "SELECT max(batch) FROM moves WHERE actor = ? AND undone_by IS NULL", [actor]
    ).fetchone()
    if row[0] is None:
        return outcome(db, [])
    logged = db.execute(
        "SELECT id, image_id, from_folder, tags_added, tags_changed FROM moves"
        " WHERE batch = ? ORDER BY id",
        [row[0]],
    ).fetchall()
    moves, _gone = plan_moves(db, [(image_id, folder) for _, image_id, folder, *_ in logged])

    def take_back(batch: int) -> None:
        marks = ",".join("?" * len(logged))
        db.execute(
            f"UPDATE moves SET undone_by = ? WHERE id IN ({marks})",
            [batch, *(move_id for move_id, *_ in logged)],
        )
        # The moves back have set the tags by folder; the log restores them exactly.
        for _, image_id, _folder, added, changed in logged:
            db.conn.executemany(
                "DELETE FROM image_tags WHERE image_id = ? AND tag = ? AND origin IN (?, ?)",
                [(image_id, tag, "folder", EARLIER) for tag in json.loads(added or "[]")],
            )
            db.conn.executemany(
                "UPDATE image_tags SET origin = ? WHERE image_id = ? AND tag = ?",
                [(was, image_id, tag) for tag, was in json.loads(changed or "{}").items()],
            )
        # apply_moves refreshes the moved pictures; these stayed where they were.
        moved = {move.image_id for move in moves}
        refresh_tags_column(db, [i for _, i, *_ in logged if i not in moved])

    apply_moves(db=db, root=root, moves=moves, actor=actor + UNDO_SUFFIX, also=take_back)
    return outcome(db, moves)
