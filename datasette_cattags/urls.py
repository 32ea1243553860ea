"""Every URL the plugin answers or builds, in one place: the routes it
registers with Datasette, the builders pages and templates call, and the
patterns the middleware recognises. All of them sit under a database's
/-/cattags/ and behind Datasette's base_url."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

PREFIX = "/-/cattags"
VERSION_LENGTH = 12  # hex digits of the PNG's sha256 used in ?v=
WRITES = ("move", "undo", "decide", "keep")  # the POSTs: bounded bodies, permission, CSRF
# The routes: name, path under /{database}/-/cattags/ (a regular expression).
ROUTES = {
    "thumb": r"thumb/(?P<image_id>[^/]+)\.png",
    "original": r"original/(?P<image_id>[^/]+)",
    "duplicates": r"duplicates",
    **{name: name for name in WRITES},
}
WRITE_PATH = re.compile(rf"{PREFIX}/({'|'.join(WRITES)})$")  # behind any base_url
THUMB_PATH = f"{PREFIX}/thumb/"


def routes(views: dict[str, Callable]) -> list[tuple[str, Callable]]:
    """register_routes' answer: each route with its view (by route name)."""
    assert set(views) == set(ROUTES), "every route has one view"
    return [
        (rf"^/(?P<database>[^/]+){PREFIX}/{pattern}$", views[name])
        for name, pattern in ROUTES.items()
    ]


def is_write(path: str) -> bool:
    return WRITE_PATH.search(path) is not None


def is_thumbnail(path: str) -> bool:
    return THUMB_PATH in path


class Urls:
    """The URLs of one database's pages, as links (base_url included)."""

    def __init__(self, datasette, database: str):
        self.datasette, self.database = datasette, database

    def _path(self, tail: str) -> str:
        return self.datasette.urls.path(f"/{self.database}{PREFIX}/{tail}")

    def thumbnail(self, image_id: str, version: str | None = None) -> str:
        """A picture's thumbnail; a versioned URL may be cached for a year."""
        path = self._path(f"thumb/{image_id}.png")
        return f"{path}?v={version[:VERSION_LENGTH]}" if version else path

    def original(self, image_id: str) -> str:
        return self._path(f"original/{image_id}")

    def write(self, name: str) -> str:
        """Where a form POSTs: move, undo, decide or keep."""
        assert name in WRITES, name
        return self._path(name)

    def duplicates(self, anchor: str | None = None) -> str:
        """The review page, at a set's anchor ("group-3", "picture-ID")."""
        return self._path("duplicates") + (f"#{anchor}" if anchor else "")

    def images(self, query: str = "") -> str:
        """The images table (the gallery), with a query string."""
        return self.datasette.urls.table(self.database, "images") + (f"?{query}" if query else "")

    def folder(self, folder: str) -> str:
        """The pictures in a folder ("" for the top level)."""
        return self.images(f"folder={quote(folder, safe='')}")

    def picture(self, image_id: str) -> str:
        return self.datasette.urls.row(self.database, "images", image_id)

    def look(self, look: int) -> str:
        """A look-alike group, in look order."""
        return self.images(f"look={look}&_sort=look_order")

    def cluster(self, cluster: int) -> str:
        return self.images(f"cluster={cluster}")

    def similar(self, image_id: str) -> str:
        return self.datasette.urls.path(f"/{self.database}/similar") + f"?id={image_id}"
