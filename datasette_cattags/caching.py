"""Request tweaks: long-lived caching for versioned thumbnail URLs, and no
suggested facets on the gallery (its own facets replace them).

Long-lived browser caching for versioned thumbnail URLs:

Datasette answers any request that carries a cookie with
`Cache-Control: private, no-store`; thumbnails are content-addressed
(`?v=` is the start of the PNG's sha256), so signed-in users may keep them
for a year too.
"""

from __future__ import annotations

from urllib.parse import parse_qs

YEAR = 31_536_000


def wrap_thumbnail_caching(app):
    async def wrapped(scope, receive, send):
        path = scope.get("path", "")
        if scope.get("type") != "http" or "/-/cattags/thumb/" not in path:
            await app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        headers = dict(scope.get("headers") or [])
        personal = b"cookie" in headers or b"authorization" in headers

        async def send_with_cache(message):
            if message["type"] == "http.response.start" and query.get("v") and personal:
                status = message.get("status")
                kept = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                if status in (200, 304):
                    value = f"private, max-age={YEAR}, immutable".encode()
                    message = {**message, "headers": kept + [(b"cache-control", value)]}
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
