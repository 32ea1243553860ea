"""Datasette plugin for cattags databases: a thumbnail gallery with tag facets,
nearest cats, and moving pictures to folders for permitted users."""

from __future__ import annotations

import copy
import datetime
import logging
import sqlite3
import threading

from datasette import hookimpl
from datasette.utils import to_css_class
from jinja2 import ChoiceLoader, DictLoader

from ingest.library import register_functions
from ingest.lookup import warm_looks

from .cells import render_thumbnail_cell
from .compat import (
    IS_V1,
    add_queries,
    allow_sql,
    deny_sql,
    move_action,
    set_default_table_config,
)
from .detect import PLUGIN, known_library_names, library_columns
from .facets import CountedFacet, FolderFacet, TagsFacet
from .filters import request_filters
from .folders import folder_label, tag_chips
from .middleware import (
    wrap_bounded_writes,
    wrap_gallery_without_suggestions,
    wrap_thumbnail_caching,
)
from .page import page_context
from .permissions import (
    MOVE,
    allowed_by_config,
    can_view_images,
    databases_allowing,
    databases_hiding_images,
)
from .queries import SIMILAR, similar_queries
from .urls import routes
from .views import (
    decide_view,
    duplicates_view,
    keep_view,
    move_view,
    original_view,
    thumb_view,
    undo_view,
)


def human_bytes(value) -> str:
    """1234567 -> "1.2 MB"."""
    if not isinstance(value, int):
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def date_from_ns(value) -> str:
    """Nanoseconds since the epoch as a UTC date and time."""
    if not isinstance(value, int):
        return ""
    moment = datetime.datetime.fromtimestamp(value / 1e9, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


DEFAULT_TABLE_CONFIG = {
    "facets": [
        {"tags": "image_tags"},
        {"folder": "folder"},
        {"counted": "look"},
        {"counted": "event"},
        {"counted": "cluster"},
        {"counted": "nearest_distance"},
    ],
    "sort": "id",
}
GALLERY = '{% include "cattags/gallery.html" %}'
PICTURE = '{% extends "cattags/picture.html" %}'
PAGES = ("images",)  # the tables whose pages are the plugin's own
THUMBNAIL_TABLES = ("images", "pairs", "neighbours", "files", "image_tags", "moves", "thumbnails")


@hookimpl
def prepare_connection(conn, datasette):
    """hamming(a, b), nearest_images(id_or_hash, k) and looks_like(id_or_look,
    k) in every database; a statement's calls of the last two stop at
    Datasette's SQL time limit."""
    register_functions(conn, datasette.setting("sql_time_limit_ms"))


@hookimpl
def register_routes():
    return routes(
        {
            "thumb": thumb_view,
            "original": original_view,
            "duplicates": duplicates_view,
            "move": move_view,
            "undo": undo_view,
            "decide": decide_view,
            "keep": keep_view,
        }
    )


@hookimpl
def prepare_jinja2_environment(env, datasette):
    """Gallery and row templates for the images table of cattags databases.

    Appended after the existing loader, so a user's own template still wins;
    a DictLoader can list its templates, which `datasette serve` needs.
    """
    templates = {}
    for name in known_library_names(datasette):
        db, table = to_css_class(name), to_css_class("images")
        templates[f"_table-{db}-{table}.html"] = GALLERY
        templates[f"row-{db}-{table}.html"] = PICTURE
    env.loader = ChoiceLoader([env.loader, DictLoader(templates)])
    env.filters["cattags_chips"] = tag_chips
    env.filters["cattags_folder"] = folder_label
    env.filters["cattags_bytes"] = human_bytes
    env.filters["cattags_date"] = date_from_ns


@hookimpl(tryfirst=True)
def render_cell(row, value, column, table, database, datasette):
    if database not in known_library_names(datasette):
        return None  # another database: leave its cells alone
    return render_thumbnail_cell(
        datasette=datasette, row=row, value=value, column=column, table=table, database=database
    )


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    return page_context(
        datasette=datasette, request=request, database=database, table=table, view_name=view_name
    )


@hookimpl
def extra_css_urls(template, database, table, datasette):
    if database not in known_library_names(datasette):
        return []
    if table in THUMBNAIL_TABLES or template in ("query.html", "cattags/duplicates.html"):
        return [datasette.urls.static_plugins("datasette_cattags", "cattags.css")]
    return []


@hookimpl
def extra_js_urls(template, database, table, datasette):
    """The gallery's and the picture page's script, on those pages only."""
    if table in PAGES and database in known_library_names(datasette):
        # An ES module: it imports the others from the same folder.
        return [
            {"url": datasette.urls.static_plugins("datasette_cattags", "main.js"), "module": True}
        ]
    return []


@hookimpl
def register_facet_classes():
    return [TagsFacet, FolderFacet, CountedFacet]


@hookimpl
def filters_from_request(request, database, table, datasette):
    """`?_tag=` and `?_alike=` on the images table (filters.py)."""
    if table != "images" or database not in known_library_names(datasette):
        return None
    return request_filters(request)


@hookimpl
def get_metadata(datasette, key, database, table):
    """Zero configuration: default facets for the images table of cattags databases."""
    # A copy each time: Datasette 0.65 merges the user's metadata into it in place.
    return {
        "databases": {
            name: {"tables": {"images": default_table_config(datasette, name)}}
            for name in known_library_names(datasette)
        }
    }


def default_table_config(datasette, name: str) -> dict:
    """The images table's default facets, those of its columns that this
    database has (an older one lacks look and event until ingest runs)."""
    columns = library_columns(datasette, name)
    facets = [
        facet
        for facet in DEFAULT_TABLE_CONFIG["facets"]
        if facet.get("counted", "") in columns or "counted" not in facet
    ]
    return {**copy.deepcopy(DEFAULT_TABLE_CONFIG), "facets": copy.deepcopy(facets)}


@hookimpl
def canned_queries(datasette, database):
    """0.65; on 1.0 the same queries are added at start-up."""
    return similar_queries(datasette, database)


@hookimpl
def register_actions(datasette):
    """1.0 only (0.65 ignores an unknown hook)."""
    return [move_action(MOVE, "Move pictures to folders (re-tags them)")]


@hookimpl
def permission_resources_sql(datasette, actor, action):
    """1.0: the allow_move block of the plugin configuration (root comes from
    --root); the similar-images query hidden from whoever may not see images."""
    if action == "view-query":

        async def hide_similar():
            hidden = await databases_hiding_images(datasette, actor)
            return deny_sql(hidden, SIMILAR, "the images table is not visible to this actor")

        return hide_similar
    if action != MOVE or not actor:
        return None
    return allow_sql(databases_allowing(datasette, actor), "allow_move in datasette-cattags config")


@hookimpl
def permission_allowed(datasette, actor, action, resource):
    """0.65. cattags-move: root, or whoever the allow_move block names; the
    similar-images query: only for those who may see the images table."""
    if action == "view-query" and isinstance(resource, (tuple, list)):
        database, query = resource
        if query != SIMILAR or database not in known_library_names(datasette):
            return None

        async def similar_visible():
            return None if await can_view_images(datasette, actor, database) else False

        return similar_visible
    if action != MOVE:
        return None
    if actor and actor.get("id") == "root":
        return True
    database = resource[0] if isinstance(resource, (tuple, list)) else resource
    return allowed_by_config(datasette, actor, database)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        names = lambda: known_library_names(datasette)  # noqa: E731
        inner = wrap_gallery_without_suggestions(app, names)
        return wrap_bounded_writes(wrap_thumbnail_caching(inner))

    return wrap


@hookimpl
def startup(datasette):
    """1.0: add the similar-images query and the default facets (0.65 gets them
    from canned_queries and get_metadata)."""

    async def inner():
        for name in known_library_names(datasette):
            # looks_like() reads every look on first use (2.5 s at a million):
            # done now, beside the server, not inside someone's time limit.
            threading.Thread(
                target=warm, args=(datasette.databases[name].path,), daemon=True
            ).start()
        if not IS_V1:
            return
        for name in known_library_names(datasette):
            await add_queries(datasette, name, similar_queries(datasette, name))
            set_default_table_config(
                datasette=datasette,
                database=name,
                table="images",
                defaults=default_table_config(datasette, name),
            )

    return inner


def warm(path: str) -> None:
    """Read a library's looks ahead of the first looks_like(); a database
    that cannot be read now is read on first use instead."""
    try:
        warm_looks(path)
    except (sqlite3.Error, OSError) as error:
        logging.getLogger(__name__).info("looks of %s not read ahead: %s", path, error)


__all__ = ["PLUGIN"]
