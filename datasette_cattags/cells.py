"""Thumbnails in table cells: images.thumbnail, thumbnails.png and every column
that holds an image id (pairs, files, tags, neighbours, moves, SQL results)."""

from __future__ import annotations

from typing import NamedTuple

from markupsafe import Markup, escape

from ingest.core import is_image_id

from .detect import IMAGE_ID_COLUMNS
from .urls import Urls


class Thumb(NamedTuple):
    """A picture's thumbnail as a cell shows it."""

    image_id: str
    version: str | None = None  # the PNG's sha256: a URL cached for a year
    width: int | None = None
    height: int | None = None


def img_tag(urls: Urls, thumb: Thumb) -> Markup:
    src = urls.thumbnail(thumb.image_id, thumb.version)
    size = (
        f' width="{int(thumb.width)}" height="{int(thumb.height)}"'
        if thumb.width and thumb.height
        else ""
    )
    return Markup(
        f'<img class="cattags-thumb" loading="lazy" src="{escape(src)}"{size}'
        f' alt="{escape(thumb.image_id)}">'
    )


def linked_thumb(urls: Urls, thumb: Thumb) -> Markup:
    href = urls.picture(thumb.image_id)
    return Markup(
        f'<a class="cattags-link" href="{escape(href)}">{img_tag(urls, thumb)}<br>'
        f"{escape(thumb.image_id)}</a>"
    )


async def render_thumbnail_cell(datasette, row, value, column, table, database):
    """Markup for a thumbnail cell, or None to leave the cell to others."""
    urls = Urls(datasette, database)
    if table == "images" and column == "thumbnail" and isinstance(value, str):
        return img_tag(urls, Thumb(row["id"], value, row["thumb_width"], row["thumb_height"]))
    if table == "thumbnails" and column == "png" and isinstance(value, bytes):
        image_id = row["image_id"]
        image_id = image_id["value"] if isinstance(image_id, dict) else image_id
        return await _lookup(datasette, database, image_id, linked=False)
    if isinstance(value, dict):  # an expanded foreign key
        value = value.get("value")
    if not is_image_id(value):
        return None
    if table == "images":
        # The gallery's own rows: no query per row (the URL revalidates by ETag).
        if column in IMAGE_ID_COLUMNS["images"]:
            return linked_thumb(urls, Thumb(value))
        return None
    if table is None or column in IMAGE_ID_COLUMNS.get(table, ()):
        return await _lookup(datasette, database, value, linked=True)
    return None


async def _lookup(datasette, database, image_id, linked: bool):
    rows = await datasette.get_database(database).execute(
        "select t.sha256 as thumbnail, i.thumb_width, i.thumb_height from images i"
        " left join thumbnails t on t.image_id = i.id where i.id = ?",
        [image_id],
    )
    row = rows.first()
    if row is None:
        return None
    make = linked_thumb if linked else img_tag
    thumb = Thumb(image_id, row["thumbnail"], row["thumb_width"], row["thumb_height"])
    return make(Urls(datasette, database), thumb)
