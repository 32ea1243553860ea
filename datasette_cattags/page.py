"""What the gallery and row templates need to know, per request."""

from __future__ import annotations

from datasette.utils import tilde_decode

from .detect import find_library
from .permissions import can_move
from .views import thumbnail_path

FOLDERS_SHOWN = 200  # existing folders offered in the move form


async def _context(datasette, request, database, table, view_name):
    if table != "images" or database is None:
        return {}
    library = await find_library(datasette, database)
    if library is None:
        return {}
    db = datasette.get_database(database)
    allowed = await can_move(datasette, request.actor if request else None, database)
    movable = allowed and library.can_write
    reason = None
    if allowed and not library.mutable:
        reason = "This database is read-only: pictures cannot be moved here."
    elif allowed and library.thumbs_root is None:
        reason = "The thumbnails folder is not on this server: pictures cannot be moved here."
    folders = []
    if movable:
        rows = await db.execute(
            f"select distinct folder from images where folder != '' order by folder limit {FOLDERS_SHOWN}"
        )
        folders = [row[0] for row in rows]
    context = {
        "gallery": request is None or request.args.get("_cattags") != "table",
        "can_move": movable,
        "reason": reason,
        "folders": folders,
        "move_url": datasette.urls.path(f"/{database}/-/cattags/move"),
        "undo_url": datasette.urls.path(f"/{database}/-/cattags/undo"),
        "table_url": datasette.urls.table(database, "images"),
        "nearest": [],
    }
    if view_name == "row" and request is not None:
        image_id = tilde_decode(request.url_vars.get("pks", ""))
        context["image_id"] = image_id
        rows = await db.execute(
            "select n.rank, n.neighbour_id, n.distance, i.thumbnail, i.thumb_width, i.thumb_height,"
            " i.size, i.folder from neighbours n join images i on i.id = n.neighbour_id"
            " where n.image_id = ? order by n.rank",
            [image_id],
        )
        context["nearest"] = [
            {
                **dict(row),
                "src": thumbnail_path(datasette, database, row["neighbour_id"], row["thumbnail"]),
                "href": datasette.urls.row(database, "images", row["neighbour_id"]),
            }
            for row in rows
        ]
        context["similar_url"] = datasette.urls.path(f"/{database}/similar") + f"?id={image_id}"
    return {"cattags": context}


def page_context(datasette, request, database, table, view_name):
    """An awaitable for extra_template_vars."""
    return _context(datasette, request, database, table, view_name)
