"""Request handlers: thumbnails, moving pictures to folders, undo."""

from __future__ import annotations

import asyncio
import sqlite3
from urllib.parse import parse_qsl, urlparse

from datasette import Response
from sqlite_utils import Database

from ingest.duplicates import Summary, keep, list_sets, summarise
from ingest.errors import (
    CattagsError,
    FileInTheWay,
    FolderOutsideRoot,
    MissingThumbnails,
    UnknownFile,
    UnknownPicture,
)
from ingest.files import ChangedFile
from ingest.groups import decide
from ingest.lookup import change_token
from ingest.moves import Outcome, move_to_folder, undo
from ingest.originals import Original, find_original

from .detect import Library, find_library, known_library_names
from .folders import chips, folder_label, folder_tree
from .middleware import IMMUTABLE_MARKER, YEAR
from .permissions import can_move, can_view_images
from .streaming import QUEUE_SECONDS, FileStream, Unsatisfiable, byte_range, places
from .urls import VERSION_LENGTH, Urls


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
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.args.get("v") == row["sha256"][:VERSION_LENGTH]:
        # Only the current version's own URL may be kept for a year; the
        # marker tells the caching wrapper so (it is never sent out).
        headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        headers[IMMUTABLE_MARKER] = "1"
    if etag in request.headers.get("if-none-match", ""):
        return Response("", status=304, headers=headers)
    return Response(row["png"], content_type="image/png", headers=headers)


MAX_ORIGINAL_BYTES = 64 * 1024 * 1024  # originals larger than this are not served


async def lookup_original(datasette, library: Library, image_id: str) -> Original | None:
    """The original file of a picture, when this server may show it: never
    from a read-only (immutable, published) copy."""
    if not library.mutable:
        return None
    db = datasette.get_database(library.database)
    return await db.execute_fn(
        lambda conn: find_original(
            Database(conn, execute_plugins=False), image_id, MAX_ORIGINAL_BYTES
        )
    )


async def read_request(request, datasette):
    """(library, None) when this request may see the images, else (None, the answer)."""
    library = await find_library(datasette, request.url_vars["database"])
    if library is None:
        return None, Response.text("Not a cattags database", status=404)
    if not await can_view_images(datasette, request.actor, library.database):
        return None, Response.text("Permission denied", status=403)
    return library, None


async def original_available(datasette, library: Library, image_id: str) -> bool:
    return await lookup_original(datasette, library, image_id) is not None


async def original_view(request, datasette):
    """GET /{database}/-/cattags/original/{image_id}: the picture's source
    file, streamed in chunks (whole or one byte range), a few at once."""
    library, refusal = await read_request(request, datasette)
    if refusal:
        return refusal
    original = await lookup_original(datasette, library, request.url_vars["image_id"])
    if original is None:
        return Response.text("No original file for this picture on this server", status=404)
    etag = f'"{original.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
        "Content-Type": original.content_type,
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response("", status=304, headers=headers)
    asked = request.headers.get("range")
    if request.headers.get("if-range", etag) != etag:
        asked = None  # the client holds another version: send it all
    try:
        part = byte_range(asked, original.bytes)
    except Unsatisfiable:
        headers["Content-Range"] = f"bytes */{original.bytes}"
        return Response.text("Range Not Satisfiable", status=416, headers=headers)
    place = places(datasette)
    try:
        await asyncio.wait_for(place.acquire(), QUEUE_SECONDS)
    except TimeoutError:
        headers["Retry-After"] = "5"
        return Response.text("Too many originals are being sent: try again", 503, headers)
    try:
        handle = await asyncio.to_thread(original.open)
    except OSError as error:
        place.release()
        why = str(error) if isinstance(error, ChangedFile) else "it cannot be read"
        return Response.text(f"The original file is not available: {why}", status=404)
    first, last = part or (0, original.bytes - 1)
    headers["Content-Length"] = str(last - first + 1)
    if part:
        headers["Content-Range"] = f"bytes {first}-{last}/{original.bytes}"
    status = 206 if part else 200
    if request.method == "HEAD":  # the headers alone
        last = first - 1
    return FileStream(handle, first, last, status, headers, request.receive, place.release)


def wants_json(request, form: list[tuple[str, str]] = ()) -> bool:
    return "application/json" in request.headers.get("accept", "") or ("_json", "1") in form


def answer(datasette, request, form, status: int, message: str, payload=None):
    """JSON for scripts; for browsers, a message on the page they came from."""
    if wants_json(request, form):
        body = {"ok": status < 400, "message": message, **(payload or {})}
        return Response.json(body, status=status)
    level = datasette.INFO if status < 400 else datasette.ERROR
    datasette.add_message(request, message, level)
    return Response.redirect(back_to(datasette, request))


def back_to(datasette, request) -> str:
    """The page the form was on, if it is a page of this site; else the images table."""
    referer = urlparse(request.headers.get("referer", ""))
    path = referer.path
    same_site = referer.netloc in ("", request.host) and referer.scheme in ("", "http", "https")
    # "//evil.example/x" and "/\\evil.example" are other sites to a browser.
    if same_site and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path + (f"?{referer.query}" if referer.query else "")
    return Urls(datasette, request.url_vars["database"]).images()


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


async def read_form(request) -> list[tuple[str, str]]:
    """The urlencoded body (bounded and checked as UTF-8 by wrap_bounded_writes)."""
    body = await request.post_body()
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


async def read_write_request(request, datasette):
    """(library, form fields, None) for a POST that may write, else (.., .., the answer).

    Permission first: nothing of the body is read for a request that may not write.
    """
    if request.method != "POST":
        return None, [], Response.text("Use POST", status=405)
    library = await find_library(datasette, request.url_vars["database"])
    refused = await refuse(datasette, request, library)
    if refused:
        return library, [], answer(datasette, request, [], *refused)
    return library, await read_form(request), None


async def write(datasette, request, form, library: Library, change):
    """Run `change(db)`, one library call, on the write connection: (its
    Outcome, None), or (None, the answer its error maps to)."""
    db = datasette.get_database(library.database)
    try:
        done = await db.execute_write_fn(
            lambda conn: change(Database(conn, execute_plugins=False)), block=True
        )
    except FolderOutsideRoot as error:
        return None, answer(datasette, request, form, 400, f"Invalid folder: {error}")
    except (UnknownPicture, UnknownFile) as error:
        return None, answer(datasette, request, form, 404, f"Nothing changed: {error}")
    except (FileInTheWay, MissingThumbnails) as error:
        return None, answer(datasette, request, form, 409, f"Nothing changed: {error}")
    except CattagsError as error:
        return None, answer(datasette, request, form, 400, f"Nothing changed: {error}")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        message = "The database is busy (another program is writing to it): try again shortly"
        return None, answer(datasette, request, form, 503, message)
    except OSError as error:
        return None, answer(
            datasette, request, form, 500, f"Nothing moved: {error.strerror or error}"
        )
    return done, None


async def payload(datasette, database: str, done: Outcome) -> dict:
    """What a page needs to update itself after a move or an undo, its
    parts rendered by the templates the page itself was rendered with:
    each moved picture's folder and chips, and the folder panel."""
    urls = Urls(datasette, database)
    to = {m.image_id: m.to_folder for m in done.moves}
    # Pictures moved together mostly share their chips: each different
    # caption is rendered once (a move of 10,000 pictures, not 10,000 times).
    rendered: dict[tuple, str] = {}
    captions = {}
    for image_id, folder in to.items():
        key = (folder, tuple(chips(done.tags.get(image_id, []), image_id, folder)))
        if key not in rendered:
            rendered[key] = await datasette.render_template(
                "cattags/_caption.html", {"folder": folder, "chips": list(key[1])}
            )
        captions[image_id] = rendered[key]
    tree = await datasette.render_template(
        "cattags/_tree.html",
        {
            "tree": folder_tree(done.folders),
            "top_count": dict(done.folders).get("", 0),
            "links": urls,  # not "urls": Datasette's own is in every template's context
        },
    )
    return {
        "moved": list(to),
        "to": to,
        "tags": done.tags,
        "folders": [folder for folder, _ in done.folders if folder],
        "captions": captions,
        "tree": tree,
    }


def pictures(count: int) -> str:
    return f"{count} picture{'s' if count != 1 else ''}"


async def move_view(request, datasette):
    """POST /{database}/-/cattags/move: image_id (repeatable), folder."""
    library, form, refusal = await read_write_request(request, datasette)
    if refusal:
        return refusal
    image_ids = [value for key, value in form if key == "image_id"]
    folder = next((value for key, value in reversed(form) if key == "folder"), None)
    if not image_ids or folder is None:
        return answer(
            datasette, request, form, 400, "Say which pictures (image_id) and where (folder)"
        )
    actor = str((request.actor or {}).get("id"))
    done, failed = await write(
        datasette,
        request,
        form,
        library,
        lambda db: move_to_folder(
            db=db, root=library.thumbs_root, image_ids=image_ids, folder=folder, actor=actor
        ),
    )
    if failed:
        return failed
    moves = done.moves
    where = folder_label(moves[0].to_folder if moves else folder.strip())
    if moves:
        message = f"Moved {pictures(len(moves))} to {where}"
    else:
        message = f"Nothing to move: already in {where}"
    body = {
        **await payload(datasette, library.database, done),
        "folder": moves[0].to_folder if moves else None,
    }
    return answer(datasette, request, form, 200, message, body)


async def undo_view(request, datasette):
    """POST /{database}/-/cattags/undo: reverse this user's latest move not yet undone."""
    library, form, refusal = await read_write_request(request, datasette)
    if refusal:
        return refusal
    actor = str((request.actor or {}).get("id"))
    done, failed = await write(
        datasette, request, form, library, lambda db: undo(db, library.thumbs_root, actor)
    )
    if failed:
        return failed
    if not done.moves:
        return answer(
            datasette,
            request,
            form,
            200,
            "Nothing to undo",
            await payload(datasette, library.database, done),
        )
    message = f"Put {pictures(len(done.moves))} back"
    return answer(
        datasette, request, form, 200, message, await payload(datasette, library.database, done)
    )


SETS_SHOWN = 100  # sets of files on the review page, most files first
DECIDED = {"different": "not the same picture", "same": "the same picture"}
# What the review page shows of the sets each read connection listed last,
# with the change token they were listed at: it lists them again only after
# the database changed (at a million pictures, listing takes seconds).
_listed: dict[int, tuple[sqlite3.Connection, tuple[int, int], tuple[list, Summary]]] = {}


def sets_of(conn: sqlite3.Connection) -> tuple[list, Summary]:
    """The first SETS_SHOWN sets of duplicate files (most files first) and
    the summary of all, reused while the database is unchanged."""
    token = change_token(conn)
    cached = _listed.get(id(conn))
    if cached and cached[0] is conn and cached[1] == token:
        return cached[2]
    sets = list_sets(Database(conn, execute_plugins=False))
    shown = (sets[:SETS_SHOWN], summarise(sets))
    _listed[id(conn)] = (conn, token, shown)
    return shown


async def duplicates_view(request, datasette):
    """GET /{database}/-/cattags/duplicates: sets of files that are one
    picture or near-duplicates, to review."""
    library, refusal = await read_request(request, datasette)
    if refusal:
        return refusal
    db = datasette.get_database(library.database)
    shown, summary = await db.execute_fn(sets_of)
    allowed = await can_move(datasette, request.actor, library.database)
    database = library.database
    urls = Urls(datasette, database)
    for picture in (picture for copy_set in shown for picture in copy_set.pictures):
        picture.src = urls.thumbnail(picture.id, picture.thumbnail)
        picture.href = urls.picture(picture.id)
    return Response.html(
        await datasette.render_template(
            "cattags/duplicates.html",
            {
                "database": database,
                "sets": shown,
                "summary": summary,
                "can_write": allowed and library.can_write,
                "read_only": allowed and not library.can_write,
                "decide_url": urls.write("decide"),
                "keep_url": urls.write("keep"),
                "move_url": urls.write("move"),
                "table_url": urls.images(),
            },
            request=request,
        )
    )


async def keep_view(request, datasette):
    """POST /{database}/-/cattags/keep: path, the source file a person keeps
    of its set; the others become redundant (`cattags duplicates --redundant`)."""
    library, form, refusal = await read_write_request(request, datasette)
    if refusal:
        return refusal
    path = dict(form).get("path", "")
    if not path:
        return answer(datasette, request, form, 400, "Say which file to keep (path)")
    actor = str((request.actor or {}).get("id"))
    others, failed = await write(
        datasette, request, form, library, lambda db: keep(db, path, actor)
    )
    if failed:
        return failed
    message = f"Keeping {path}; {len(others):,} other file{'s' * (len(others) != 1)} of its set"
    message += " marked redundant (nothing is deleted)"
    return answer(datasette, request, form, 200, message, {"kept": path, "redundant": others})


async def decide_view(request, datasette):
    """POST /{database}/-/cattags/decide: image_a, image_b, decision (different or same)."""
    library, form, refusal = await read_write_request(request, datasette)
    if refusal:
        return refusal
    fields = dict(form)
    a, b, decision = fields.get("image_a", ""), fields.get("image_b", ""), fields.get("decision")
    if not a or not b or decision not in DECIDED:
        return answer(
            datasette, request, form, 400, "Say which pictures and decision (different or same)"
        )
    actor = str((request.actor or {}).get("id"))
    _done, failed = await write(
        datasette,
        request,
        form,
        library,
        lambda db: decide(db=db, a=a, b=b, decision=decision, actor=actor),
    )
    if failed:
        return failed
    message = f"Marked as {DECIDED[decision]}: {a} and {b}"
    return answer(datasette, request, form, 200, message, {"decision": decision})
