"""Thumbnails in table cells: images.thumbnail, thumbnails.png and every column
that holds an image id (pairs, files, tags, neighbours, moves, SQL results)."""

from __future__ import annotations

from markupsafe import Markup, escape

from ingest.core import is_image_id

from .detect import IMAGE_ID_COLUMNS
from .urls import Urls


def img_tag(datasette, database: str, image_id: str, version, width, height) -> Markup:
    src = Urls(datasette, database).thumbnail(image_id, version)
    size = f' width="{int(width)}" height="{int(height)}"' if width and height else ""
    return Markup(
        f'<img class="cattags-thumb" loading="lazy" src="{escape(src)}"{size} alt="{escape(image_id)}">'
    )


def linked_thumb(datasette, database: str, image_id: str, version, width, height) -> Markup:
    href = Urls(datasette, database).picture(image_id)
    thumb = img_tag(
        datasette=datasette,
        database=database,
        image_id=image_id,
        version=version,
        width=width,
        height=height,
    )
    return Markup(
        f'<a class="cattags-link" href="{escape(href)}">{thumb}<br>{escape(image_id)}</a>'
    )


async def render_thumbnail_cell(datasette, row, value, column, table, database):
    """Markup for a thumbnail cell, or None to leave the cell to others."""
    if table == "images" and column == "thumbnail" and isinstance(value, str):
        return img_tag(
            datasette=datasette,
            database=database,
            image_id=row["id"],
            version=value,
            width=row["thumb_width"],
            height=row["thumb_height"],
        )
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
            return linked_thumb(
                datasette=datasette,
                database=database,
                image_id=value,
                version=None,
                width=None,
                height=None,
            )
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
    return make(
        datasette, database, image_id, row["thumbnail"], row["thumb_width"], row["thumb_height"]
    )
