"""What the gallery and picture templates need to know, per request."""

from __future__ import annotations

import json

from datasette.utils import (
    path_with_added_args,
    path_with_removed_args,
    path_with_replaced_args,
    tilde_decode,
)

from ingest.core import least_side, reduction
from ingest.moves import MOST_AT_ONCE
from ingest.pages import folder_counts, picture_rows
from ingest.pages import look_strips as look_strip_rows
from ingest.tags import EARLIER
from ingest.xmp import TRUNCATED, xmp_fields

from .detect import Library, find_library
from .filters import ALIKE_K
from .folders import folder_tree
from .permissions import can_move
from .urls import Urls
from .views import original_available

FOLDERS_SHOWN = 500  # folders listed in the panel and offered in the move field
ZOOMS = (1.0, 1.5, 2.0)  # thumbnail scales the gallery offers (x the stored size)
DEFAULT_ZOOM = 1.5
ALIKE_COUNTS = (10, 20, 50, 100)  # how many look-alikes "Select similar" offers to add


async def _context(datasette, request, database, table, view_name):
    if table != "images" or database is None:
        return {}
    library = await find_library(datasette, database)
    if library is None:
        return {}
    allowed = await can_move(datasette, request.actor if request else None, database)
    movable = allowed and library.can_write
    reason = None
    if allowed and not library.mutable:
        reason = "This database is read-only: pictures cannot be moved here."
    elif allowed and library.thumbs_root is None:
        reason = "The thumbnails folder is not on this server: pictures cannot be moved here."
    db = datasette.get_database(database)
    folders = await db.execute_fn(lambda conn: folder_counts(conn, FOLDERS_SHOWN))
    urls = Urls(datasette, database)
    table_url = urls.images()
    context = {
        "gallery": request is None or request.args.get("_cattags") != "table",
        "can_move": movable,
        "reason": reason,
        "folders": [folder for folder, _ in folders if folder],
        "tree": folder_tree(folders),
        "top_count": next((count for folder, count in folders if folder == ""), 0),
        "table_view_url": path_with_added_args(request, {"_cattags": "table"}) if request else "",
        "gallery_view_url": path_with_removed_args(request, {"_cattags": "table"})
        if request
        else "",
        "urls": urls,  # each cell's thumbnail: urls.thumbnail(id, version)
        "move_url": urls.write("move"),
        "undo_url": urls.write("undo"),
        "duplicates_url": urls.duplicates(),
        "table_url": table_url,
        "thumb_size": library.thumb_size,
        "fast_hashes": library.hash_mode == "fast",
        "zooms": ZOOMS,
        "zoom": DEFAULT_ZOOM,
        "most_at_once": MOST_AT_ONCE,
        "alike_counts": ALIKE_COUNTS,
        "alike_k": ALIKE_K,
    }
    if view_name == "row" and request is not None:
        image_id = tilde_decode(request.url_vars.get("pks", ""))
        context["picture"] = await picture_details(datasette, library, image_id)
    else:  # the gallery's panel and order control; a picture's page shows neither
        context["looks"] = await look_strips(datasette, urls)
        context["orders"] = orders(request) if request is not None else []
    return {"cattags": context}


LOOK_ALIKES_SHOWN = 12  # look-alikes on a picture's page
# The gallery's orders: (label, the `_sort` column).
ORDERS = (("look", "look_order"), ("date taken", "taken"), ("folder", "folder"), ("id", "id"))
STRIP_SIDE = 32  # px: the longest side of a thumbnail in a look strip


async def look_strips(datasette, urls: Urls) -> list[dict]:
    """Each look-alike group with the few pictures that show it, and where
    the gallery lists the group in look order; [] before looks exist."""
    db = datasette.get_database(urls.database)
    groups = await db.execute_fn(look_strip_rows)
    strips = []
    for group in groups:
        thumbs = []
        for row in group["shown"]:
            image_id = row["id"]
            scale = STRIP_SIDE / max(row["thumb_width"] or 1, row["thumb_height"] or 1, 1)
            thumbs.append(
                {
                    "src": urls.thumbnail(image_id, row["thumbnail"]),
                    "width": max(1, round((row["thumb_width"] or STRIP_SIDE) * scale)),
                    "height": max(1, round((row["thumb_height"] or STRIP_SIDE) * scale)),
                }
            )
        strips.append(
            {
                "look": group["look"],
                "pictures": group["pictures"],
                "thumbs": thumbs,
                "url": urls.look(group["look"]),
            }
        )
    return strips


def orders(request) -> list[dict]:
    """The order links: each keeps the filters and sets `_sort`."""
    current = request.args.get("_sort") or ("" if request.args.get("_sort_desc") else "id")
    links = []
    for label, column in ORDERS:
        url = path_with_replaced_args(request, {"_sort": column, "_sort_desc": None, "_next": None})
        links.append({"label": label, "url": url, "current": column == current})
    return links


def page_context(datasette, request, database, table, view_name):
    """An awaitable for extra_template_vars."""
    return _context(
        datasette=datasette, request=request, database=database, table=table, view_name=view_name
    )


async def picture_details(datasette, library: Library, image_id: str) -> dict | None:
    """Everything the picture page shows, in readable form."""
    database = library.database
    db = datasette.get_database(database)
    rows = await db.execute_fn(lambda conn: picture_rows(conn, image_id, LOOK_ALIKES_SHOWN))
    if rows is None:
        return None
    image, files, tags = rows.image, rows.files, rows.tags
    urls = Urls(datasette, database)
    thumb, link = urls.thumbnail, urls.picture

    def shown(row: dict, key: str = "id") -> dict:
        return {**row, "src": thumb(row[key], row["thumbnail"]), "href": link(row[key])}

    nearest = [shown(row, "neighbour_id") for row in rows.nearest]
    alike = [shown(row) for row in rows.alike]
    # How each one met this picture, when directly: "mirrored", "turned 90°".
    group = [{**shown(row), "how": (row["rule"] or "").partition(", ")[2]} for row in rows.group]
    before, after = rows.before, rows.after
    original = await original_available(datasette, library, image_id)
    return {
        "id": image_id,
        "image": image,
        "extrema": readable_json(image["extrema"]),
        "bands": ", ".join(json.loads(image["bands"] or "[]")),
        "xmp": xmp_summary(image["xmp"]),
        "files": files,
        "tags": [tag for tag in tags if tag["origin"] != EARLIER],
        "earlier_tags": [tag["tag"] for tag in tags if tag["origin"] == EARLIER],
        "nearest": nearest,
        "alike": alike,
        "look_url": urls.look(image["look"]) if image.get("look") is not None else None,
        "group": group,
        "thumb": thumb(image_id, image["thumbnail"]),
        "original": urls.original(image_id) if original else None,
        "previous": link(before) if before else None,
        "next": link(after) if after else None,
        "similar_url": urls.similar(image_id),
        "group_url": urls.cluster(image["cluster"]),
        "review_url": urls.duplicates(f"group-{image['cluster']}"),
        # Several files of this picture: where the review lists them.
        "copies_url": urls.duplicates(
            f"group-{image['cluster']}" if image["cluster"] else f"picture-{image_id}"
        )
        if sum(1 for file in files if not file["missing_since"]) > 1
        else None,
        "fast_scale": fast_scale(library, image["width"], image["height"]),
    }


def fast_scale(library: Library, width: int | None, height: int | None) -> int:
    """In a fast-mode database, the factor this picture was reduced by before
    it was hashed (1: read at full size); 1 in an exact one."""
    if library.hash_mode != "fast" or not width or not height:
        return 1
    return reduction(width, height, least_side("fast", library.thumb_size))


def readable_json(text: str | None) -> str:
    """Compact text of a JSON value ("[0, 255], [3, 250]")."""
    if not text:
        return ""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value)[1:-1] if isinstance(value, list) else json.dumps(value)


# How the picture page names the XMP fields ingest keeps (ingest.xmp.FIELDS).
XMP_LABELS = {
    "title": "Title",
    "description": "Description",
    "creator": "Creator",
    "rights": "Rights",
    "subject": "Keywords",
    "CreateDate": "Date",
    "Rating": "Rating",
}


def xmp_summary(text: str | None) -> list[tuple[str, str]]:
    """A few well-known XMP fields, found anywhere in the packet, as (label,
    value), and a line saying so when ingest kept only part of the packet."""
    if not text:
        return []
    try:
        packet = json.loads(text)
    except ValueError:
        return []
    shown = [(XMP_LABELS.get(name, name), value) for name, value in xmp_fields(packet).items()]
    left_out = packet.get(TRUNCATED) if isinstance(packet, dict) else None
    if isinstance(left_out, dict) and isinstance(left_out.get("bytes"), int):
        kept = "only the fields above were kept" if shown else "too large: not kept"
        shown.append(("XMP", f"{left_out['bytes']:,} bytes; {kept}"))
    return shown
