"""Request tweaks around Datasette: long-lived caching for versioned thumbnail
URLs, no suggested facets on the gallery (its own facets replace them), and
a bound on the bodies of the plugin's write requests.

Long-lived browser caching for versioned thumbnail URLs:

Datasette answers any request that carries a cookie with
`Cache-Control: private, no-store`; thumbnails are content-addressed
(`?v=` is the start of the PNG's sha256), so signed-in users may keep them
for a year too.
"""

from __future__ import annotations

import json

from .urls import is_thumbnail, is_write

YEAR = 31_536_000  # seconds: a versioned thumbnail URL never changes
IMMUTABLE_MARKER = "X-Cattags-Immutable"  # set by the thumbnail view, removed here
MAX_BODY = 1024 * 1024  # bytes of a move or undo form: ~30,000 picture ids


def wrap_bounded_writes(app):
    """Read the body of a move, undo, decide or keep POST once, up to MAX_BODY, and refuse
    what is larger (413) or not UTF-8 (400) before anything else reads it
    (Datasette 0.65's CSRF check reads whole bodies when a cookie is sent).
    The view then checks permission before it parses the form."""

    async def wrapped(scope, receive, send):
        if not (
            scope.get("type") == "http"
            and scope.get("method") == "POST"
            and is_write(scope.get("path", ""))
        ):
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_BODY:
            await refuse(send, headers, 413, "The form is too large")
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await refuse(send, headers, 413, "The form is too large")
                return
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            await refuse(send, headers, 400, "The form is not UTF-8 text")
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)

    return wrapped


async def refuse(send, headers: dict, status: int, message: str) -> None:
    """A short answer, JSON when asked for."""
    if b"application/json" in headers.get(b"accept", b""):
        body, kind = json.dumps({"ok": False, "message": message}).encode(), b"application/json"
    else:
        body, kind = message.encode(), b"text/plain; charset=utf-8"
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]}
    )
    await send({"type": "http.response.body", "body": body})


def wrap_thumbnail_caching(app):
    """Keep the thumbnail view's year-long caching for signed-in users (as
    `private`); only answers the view marked as the current version's own URL."""

    async def wrapped(scope, receive, send):
        path = scope.get("path", "")
        if scope.get("type") != "http" or not is_thumbnail(path):
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        personal = b"cookie" in headers or b"authorization" in headers
        marker = IMMUTABLE_MARKER.lower().encode()

        async def send_with_cache(message):
            if message["type"] == "http.response.start":
                given = message.get("headers", [])
                marked = any(k.lower() == marker for k, _ in given)
                kept = [(k, v) for k, v in given if k.lower() != marker]
                if marked and personal:
                    kept = [(k, v) for k, v in kept if k.lower() != b"cache-control"]
                    kept.append((b"cache-control", f"private, max-age={YEAR}, immutable".encode()))
                message = {**message, "headers": kept}
            await send(message)

        await app(scope, receive, send_with_cache)

    return wrapped


def wrap_gallery_without_suggestions(app, library_names):
    """Add Datasette's own `_nosuggest=1` to images table pages of cattags databases.

    Suggesting facets runs a query per column (a second and more at 100,000
    pictures); the gallery has its default facets instead. `?_suggest=1`
    brings the suggestions back.
    """

    async def wrapped(scope, receive, send):
        if scope.get("type") == "http" and scope.get("method") == "GET":
            parts = scope.get("path", "").strip("/").split("/")
            query = scope.get("query_string", b"")
            if (
                len(parts) == 2
                and parts[1].split(".")[0] == "images"
                and parts[0] in library_names()
                and b"_suggest" not in query
                and b"_nosuggest" not in query
            ):
                extra = b"_nosuggest=1"
                scope = {**scope, "query_string": query + b"&" + extra if query else extra}
        await app(scope, receive, send)

    return wrapped
