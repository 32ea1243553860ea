"""Request handlers: thumbnails, moving pictures to folders, undo."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlparse

from datasette import Response
from sqlite_utils import Database

from ingest.errors import FolderOutsideRoot
from ingest.moves import move_thumbnails, safe_folder, undo_last_batch

from .detect import Library, find_library, known_library_names
from .permissions import can_move, can_view_images

YEAR = 31_536_000  # seconds: versioned thumbnail URLs never change
VERSION_LENGTH = 12  # hex digits of the PNG's sha256 used in ?v=


def thumbnail_path(datasette, database: str, image_id: str, version: str | None) -> str:
    """The URL of a picture's thumbnail; versioned URLs may be cached for a year."""
    path = datasette.urls.path(f"/{database}/-/cattags/thumb/{image_id}.png")
    return f"{path}?v={version[:VERSION_LENGTH]}" if version else path


async def thumb_view(request, datasette):
    """GET /{database}/-/cattags/thumb/{image_id}.png"""
    database = request.url_vars["database"]
    # The cached check: a gallery page asks for a hundred thumbnails at once.
    if database not in known_library_names(datasette):
        return Response.text("Not a cattags database", status=404)
    if not await can_view_images(datasette, request.actor, database):
        return Response.text("Permission denied", status=403)
    rows = await datasette.get_database(database).execute(
        "select png, sha256 from thumbnails where image_id = ?", [request.url_vars["image_id"]]
    )
    row = rows.first()
    if row is None:
        return Response.text("No such thumbnail", status=404)
    etag = f'"{row["sha256"]}"'
    version = request.args.get("v")
    if version and row["sha256"].startswith(version):
        cache = f"public, max-age={YEAR}, immutable"
    else:
        cache = "no-cache"  # revalidate with the ETag
    headers = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response("", status=304, headers=headers)
    return Response(row["png"], content_type="image/png", headers=headers)


def wants_json(request, form: list[tuple[str, str]]) -> bool:
    return "application/json" in request.headers.get("accept", "") or ("_json", "1") in form


def answer(datasette, request, form, status: int, message: str, payload=None):
    """JSON for scripts, a message and a redirect back for browsers."""
    if wants_json(request, form):
        body = {"ok": status < 400, "message": message, **(payload or {})}
        return Response.json(body, status=status)
    if status >= 400:
        return Response.text(message, status=status)
    datasette.add_message(request, message, datasette.INFO)
    return Response.redirect(back_to(datasette, request))


def back_to(datasette, request) -> str:
    """The page the form was on, if it is on this site; else the images table."""
    referer = urlparse(request.headers.get("referer", ""))
    if referer.path and referer.netloc in ("", request.host):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return datasette.urls.table(request.url_vars["database"], "images")


async def refuse(datasette, request, library: Library | None) -> tuple[int, str] | None:
    """Why this request may not write, checked before anything else; None if it may."""
    if library is None:
        return 404, "Not a cattags database"
    if not await can_move(datasette, request.actor, library.database):
        return 403, "Permission denied: moving pictures needs the cattags-move permission"
    if not library.mutable:
        return 403, "This database is read-only (immutable): pictures cannot be moved here"
    if library.thumbs_root is None:
        return 403, "The thumbnails folder is not available on this server"
    return None


async def read_write_request(request, datasette):
    """(library, form fields, None) for a POST that may write, else (.., .., the answer)."""
    if request.method != "POST":
        return None, [], Response.text("Use POST", status=405)
    library = await find_library(datasette, request.url_vars["database"])
    form = parse_qsl((await request.post_body()).decode("utf-8"), keep_blank_values=True)
    refused = await refuse(datasette, request, library)
    if refused:
        return library, form, answer(datasette, request, form, *refused)
    return library, form, None


async def move_view(request, datasette):
    """POST /{database}/-/cattags/move: image_id (repeatable), folder."""
    library, form, refusal = await read_write_request(request, datasette)
    if refusal:
        return refusal
    image_ids = list(dict.fromkeys(value for key, value in form if key == "image_id"))
    folder = next((value for key, value in reversed(form) if key == "folder"), None)
    if not image_ids or folder is None:
        return answer(
            datasette, request, form, 400, "Say which pictures (image_id) and where (folder)"
        )
    try:
        folder = safe_folder(library.thumbs_root, folder)
    except FolderOutsideRoot as error:
        return answer(datasette, request, form, 400, f"Invalid folder: {error}")
    db = datasette.get_database(library.database)
    marks = ",".join("?" * len(image_ids))
    known = {
        r[0] for r in await db.execute(f"select id from images where id in ({marks})", image_ids)
    }
    unknown = [i for i in image_ids if i not in known]
    if unknown:
        return answer(datasette, request, form, 404, f"No such picture: {', '.join(unknown)}")
    actor = str((request.actor or {}).get("id"))

    def write(conn):
        return move_thumbnails(
            Database(conn), library.thumbs_root, [(i, folder) for i in image_ids], actor
        )

    try:
        moves = await db.execute_write_fn(write, block=True)
    except OSError as error:
        return answer(datasette, request, form, 500, f"Nothing moved: {error.strerror or error}")
    where = folder or "the thumbnails root"
    message = f"Moved {len(moves)} picture{'s' if len(moves) != 1 else ''} to {where}"
    payload = {"moved": [m.image_id for m in moves], "folder": folder}
    return answer(datasette, request, form, 200, message, payload)


async def undo_view(request, datasette):
    """POST /{database}/-/cattags/undo: put back the pictures of the last move."""
    library, form, refusal = await read_write_request(request, datasette)
    if refusal:
        return refusal
    actor = str((request.actor or {}).get("id"))
    db = datasette.get_database(library.database)
    try:
        moves = await db.execute_write_fn(
            lambda conn: undo_last_batch(Database(conn), library.thumbs_root, actor), block=True
        )
    except OSError as error:
        return answer(datasette, request, form, 500, f"Nothing moved: {error.strerror or error}")
    if not moves:
        return answer(datasette, request, form, 200, "Nothing to undo", {"moved": []})
    message = f"Put {len(moves)} picture{'s' if len(moves) != 1 else ''} back"
    return answer(datasette, request, form, 200, message, {"moved": [m.image_id for m in moves]})
