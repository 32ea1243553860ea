"""Tags: folder names on the way to a picture, plus its size.

The table only grows. A picture that leaves a folder keeps that folder's
tags with the origin "earlier folder": queryable, listed on its page, but no
longer among its current tags (images.tags, the tag facet, `?_tag=`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from sqlite_utils import Database

EARLIER = "earlier folder"  # the origin of the tags of a folder the picture left
CURRENT = f"origin != '{EARLIER}'"  # SQL: a picture's current tag
FACETED = f"origin NOT IN ('size', '{EARLIER}')"  # SQL: a current tag the tag facet counts
ORIGINS = ("folder", "source", "size", "manual", EARLIER)


def tags_from_path(folder: str) -> list[str]:
    """Every folder name in a relative folder path, except purely numeric ones."""
    parts = PurePosixPath(folder).parts if folder else ()
    return [part for part in parts if part not in (".", "") and not part.isnumeric()]


def save_tags(db: Database, image_id: str, tags: Iterable[str], origin: str) -> None:
    """Add tags to a picture; a tag it already has keeps its first origin."""
    if origin not in ORIGINS:
        raise ValueError(f"unknown tag origin {origin!r}")
    db.conn.executemany(
        "INSERT OR IGNORE INTO image_tags (image_id, tag, origin) VALUES (?, ?, ?)",
        [(image_id, tag, origin) for tag in tags],
    )


def refresh_tags_column(db: Database, image_ids: Iterable[str]) -> None:
    """Rewrite images.tags (a sorted JSON array of the current tags) from image_tags."""
    db.conn.executemany(
        f"""
        UPDATE images SET tags = (
            SELECT json_group_array(tag) FROM (
                SELECT tag FROM image_tags
                WHERE image_id = images.id AND {CURRENT} ORDER BY tag
            )
        ) WHERE id = ?
        """,
        [(image_id,) for image_id in image_ids],
    )
