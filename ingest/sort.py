"""`cattags sort`: the prototype's last step, done right."""

from __future__ import annotations

from sqlite_utils import Database

from .moves import Move, move_thumbnails
from .store import thumbs_root

SORTS = {
    # how -> SQL giving (image id, target folder) for the pictures it moves
    "size": "SELECT id, 'by_size/' || size FROM images",
    "ham": "SELECT id, printf('by_ham/%02d', nearest_distance) FROM images"
    " WHERE nearest_distance IS NOT NULL",
    "cluster": "SELECT id, 'by_cluster/' || cluster FROM images WHERE cluster IS NOT NULL",
    "home": "SELECT id, '' FROM images",
}
SORT_ACTOR = "cattags sort"


def sort_thumbnails(db: Database, by: str, dry_run: bool = False) -> list[Move]:
    """Move thumbnails into by_size/, by_ham/, by_cluster/ folders, or back home."""
    root = thumbs_root(db)
    targets = [(row[0], row[1]) for row in db.execute(SORTS[by] + " ORDER BY id")]
    return move_thumbnails(db=db, root=root, targets=targets, actor=SORT_ACTOR, dry_run=dry_run)
