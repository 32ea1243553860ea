"""What the plugin's pages read from a library, in one place: the gallery's
folder counts and look-alike strips, and everything about one picture (its
row, files, tags, nearest pictures, look-alikes, near-duplicate group, and
the pictures before and after it in id order). Plain rows (dicts); how they
are shown is the plugin's.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

GROUP_SHOWN = 50  # pictures of its near-duplicate group a page lists
SHOWN = "i.id, i.thumbnail, i.thumb_width, i.thumb_height, i.size, i.folder"


@dataclass
class PictureRows:
    image: dict
    files: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)  # tag, origin
    nearest: list[dict] = field(default_factory=list)  # by whash, ranked
    alike: list[dict] = field(default_factory=list)  # by look, nearest first
    group: list[dict] = field(
        default_factory=list
    )  # its near-duplicates, with the rule they met by
    before: str | None = None
    after: str | None = None


def dicts(cursor: sqlite3.Cursor) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def picture_rows(conn: sqlite3.Connection, image_id: str, alikes: int) -> PictureRows | None:
    """Everything about one picture its page shows; None when there is none.
    `alikes`: look-alikes to list (looks_like() must be registered)."""
    found = dicts(conn.execute("select * from images where id = ?", [image_id]))
    if not found:
        return None
    rows = PictureRows(found[0])
    rows.files = dicts(
        conn.execute(
            "select path, bytes, mtime, missing_since from files where image_id = ? order by path",
            [image_id],
        )
    )
    rows.tags = dicts(
        conn.execute(
            "select tag, origin from image_tags where image_id = ? order by origin = 'size', tag",
            [image_id],
        )
    )
    rows.nearest = dicts(
        conn.execute(
            "select n.rank, n.neighbour_id, n.distance, i.thumbnail, i.thumb_width,"
            " i.thumb_height, i.size, i.folder from neighbours n"
            " join images i on i.id = n.neighbour_id where n.image_id = ? order by n.rank",
            [image_id],
        )
    )
    rows.alike = look_alikes(conn, image_id, alikes)
    if rows.image["cluster"] is not None:
        rows.group = near_duplicates(conn, image_id, rows.image["cluster"])
    rows.before = conn.execute("select max(id) from images where id < ?", [image_id]).fetchone()[0]
    rows.after = conn.execute("select min(id) from images where id > ?", [image_id]).fetchone()[0]
    return rows


def look_alikes(conn: sqlite3.Connection, image_id: str, k: int) -> list[dict]:
    """The k pictures that look most like this one ([] before looks exist)."""
    if not has_table(conn, "looks"):
        return []
    return dicts(
        conn.execute(
            f"select {SHOWN}, json_extract(hit.value, '$[1]') as distance"
            " from json_each(looks_like(:id, :k)) as hit"
            " join images i on i.rowid = json_extract(hit.value, '$[0]')"
            " order by distance, i.id limit :k",
            {"id": image_id, "k": k},
        )
    )


def near_duplicates(conn: sqlite3.Connection, image_id: str, cluster: int) -> list[dict]:
    """The other pictures of its near-duplicate group, with the rule of the
    pair that joins them to this one directly ("..., mirrored"), if any."""
    return dicts(
        conn.execute(
            f"select {SHOWN}, p.rule from images i left join pairs p on p.near_duplicate = 1"
            " and p.image_a = min(i.id, :this) and p.image_b = max(i.id, :this)"
            f" where i.cluster = :cluster and i.id != :this order by i.id limit {GROUP_SHOWN}",
            {"cluster": cluster, "this": image_id},
        )
    )


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ?", [name]).fetchone() is not None


def folder_counts(conn: sqlite3.Connection, most: int) -> list[list]:
    """[[folder, pictures], ...] of at most `most` folders, in folder order:
    from the counts ingest keeps, or counted (a library from before them,
    served read-only)."""
    if has_table(conn, "counts"):
        sql = "select value, count from counts where facet = 'folder' and count > 0 order by value"
    else:
        sql = "select folder, count(*) from images group by folder order by folder"
    return [[folder, count] for folder, count in conn.execute(f"{sql} limit ?", [most])]


def look_strips(conn: sqlite3.Connection) -> list[dict]:
    """Each look-alike group (look, pictures) with the rows of the pictures
    that show it (`shown`: id, thumbnail, thumb_width, thumb_height, in the
    group's strip order); [] before looks exist."""
    if not has_table(conn, "look_groups"):
        return []
    groups = dicts(conn.execute("select look, pictures, strip from look_groups order by look"))
    for group in groups:
        group["strip"] = json.loads(group["strip"] or "[]")
    ids = [image_id for group in groups for image_id in group["strip"]]
    rows = dicts(
        conn.execute(
            "select id, thumbnail, thumb_width, thumb_height from images"
            " where id in (select value from json_each(?))",
            [json.dumps(ids)],
        )
    )
    by_id = {row["id"]: row for row in rows}
    return [
        {
            "look": group["look"],
            "pictures": group["pictures"],
            "shown": [by_id[i] for i in group.pop("strip") if i in by_id],
        }
        for group in groups
    ]
