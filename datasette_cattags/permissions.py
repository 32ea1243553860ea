"""Who may move pictures: the `cattags-move` action, denied by default.

Allowed to root, and to whoever matches the `allow_move` block of the plugin
configuration, e.g. {"allow_move": {"id": ["alice"], "roles": ["curator"]}}.
"""

from __future__ import annotations

from datasette.utils import actor_matches_allow

from .compat import allowed, can_view_table
from .detect import known_library_names, plugin_settings

MOVE = "cattags-move"


def allowed_by_config(datasette, actor, database: str | None) -> bool | None:
    """The plugin configuration's opinion on a move: True, False or None (none given)."""
    block = plugin_settings(datasette, database).get("allow_move")
    if block is None:
        return None
    return bool(actor_matches_allow(actor, block))


async def can_move(datasette, actor, database: str) -> bool:
    """Whether this actor may move pictures in this database (deny by default)."""
    if not actor:
        return False
    return await allowed(
        datasette=datasette, actor=actor, action=MOVE, database=database, table="images"
    )


async def can_view_images(datasette, actor, database: str) -> bool:
    """The same check the core table page applies to the images table."""
    return await can_view_table(datasette=datasette, actor=actor, database=database, table="images")


def databases_allowing(datasette, actor) -> list[str]:
    """Attached databases whose plugin configuration lets this actor move."""
    return [name for name in datasette.databases if allowed_by_config(datasette, actor, name)]


async def databases_hiding_images(datasette, actor) -> list[str]:
    """cattags databases whose images table this actor may not see: the
    plugin's own query over that table is hidden there too."""
    return [
        name
        for name in known_library_names(datasette)
        if not await can_view_images(datasette, actor, name)
    ]
