"""Who may move pictures: the `cattags-move` action, denied by default.

Allowed to root, and to whoever matches the `allow_move` block of the plugin
configuration, e.g. {"allow_move": {"id": ["alice"], "roles": ["curator"]}}.
"""

from __future__ import annotations

from datasette.utils import actor_matches_allow

from .detect import PLUGIN

MOVE = "cattags-move"


def allowed_by_config(datasette, actor, database: str | None) -> bool | None:
    """The plugin configuration's opinion on a move: True, False or None (none given)."""
    config = datasette.plugin_config(PLUGIN, database=database) or {}
    block = config.get("allow_move")
    if block is None:
        return None
    return bool(actor_matches_allow(actor, block))


async def can_move(datasette, actor, database: str) -> bool:
    """Whether this actor may move pictures in this database (deny by default)."""
    if not actor:
        return False
    return bool(
        await datasette.permission_allowed(
            actor, MOVE, resource=(database, "images"), default=False
        )
    )


async def can_view_images(datasette, actor, database: str) -> bool:
    """The same check the core table page applies to the images table."""
    visible, _private = await datasette.check_visibility(
        actor,
        permissions=[
            ("view-table", (database, "images")),
            ("view-database", database),
            "view-instance",
        ],
    )
    return visible
