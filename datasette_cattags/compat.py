"""Everything that differs between Datasette 0.65 and 1.0, in one place.

0.65: permissions through the `permission_allowed` hook and
`datasette.permission_allowed()`, queries through `canned_queries`, default
facets through `get_metadata`. 1.0: registered actions with
`permission_resources_sql` and `datasette.allowed()`, queries added at
start-up with `add_query()`, table configuration in `datasette.config`.
"""

from __future__ import annotations

try:  # Datasette 1.0
    from datasette.permissions import Action, PermissionSQL
    from datasette.resources import TableResource

    IS_V1 = True
except ImportError:  # Datasette 0.65
    Action = PermissionSQL = TableResource = None
    IS_V1 = False


async def allowed(datasette, actor, action: str, database: str, table: str) -> bool:
    """May this actor do this action on this table? Deny when nobody says yes."""
    if IS_V1:
        resource = TableResource(database, table)
        return bool(await datasette.allowed(action=action, resource=resource, actor=actor))
    return bool(
        await datasette.permission_allowed(actor, action, resource=(database, table), default=False)
    )


async def can_view_table(datasette, actor, database: str, table: str) -> bool:
    """The same check the core table page applies."""
    if IS_V1:
        return await allowed(
            datasette=datasette, actor=actor, action="view-table", database=database, table=table
        )
    visible, _private = await datasette.check_visibility(
        actor,
        permissions=[
            ("view-table", (database, table)),
            ("view-database", database),
            "view-instance",
        ],
    )
    return visible


def move_action(name: str, description: str):
    """The 1.0 Action object for the move permission (None on 0.65)."""
    if not IS_V1:
        return None
    return Action(name=name, abbr=None, description=description, resource_class=TableResource)


def allow_sql(databases: list[str], reason: str):
    """1.0 permission SQL allowing an action on every table of these databases."""
    return rules_sql(databases=databases, child=None, allow=True, reason=reason)


def deny_sql(databases: list[str], child: str, reason: str):
    """1.0 permission SQL denying an action on one child (a query) of these databases."""
    return rules_sql(databases=databases, child=child, allow=False, reason=reason)


def rules_sql(databases: list[str], child: str | None, allow: bool, reason: str):
    """One rule per database (all its children, or the one named), or None."""
    if not databases:
        return None
    selects = " UNION ALL ".join(
        f"SELECT :db{n} AS parent, :child AS child, {int(allow)} AS allow, :reason AS reason"
        for n in range(len(databases))
    )
    params = {f"db{n}": name for n, name in enumerate(databases)}
    return PermissionSQL(sql=selects, params={**params, "child": child, "reason": reason})


async def add_queries(datasette, database: str, queries: dict) -> None:
    """Register plugin queries on 1.0 (0.65 asks the canned_queries hook instead)."""
    for name, query in queries.items():
        await datasette.add_query(
            database,
            name,
            query["sql"],
            title=query.get("title"),
            description=query.get("description"),
            is_trusted=True,
            replace=True,
        )


def set_default_table_config(datasette, database: str, table: str, defaults: dict) -> None:
    """1.0: table configuration the user did not give comes from the plugin."""
    config = datasette.config if datasette.config is not None else {}
    table_config = (
        config.setdefault("databases", {})
        .setdefault(database, {})
        .setdefault("tables", {})
        .setdefault(table, {})
    )
    for key, value in defaults.items():
        table_config.setdefault(key, value)
    datasette.config = config
