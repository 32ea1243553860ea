"""The gallery's facets: tags, a facet over the many-to-many image_tags table
(fast at 100,000 pictures, because it never reads the images rows
themselves; current tags only, without the size tags, which are noise
there), toggled by `?_tag=`; folder, Datasette's column facet with the
top level named; and counted, Datasette's column facet. Unfiltered, all three
read the counts table, kept by triggers (ingest/schema.py)."""

from __future__ import annotations

from datasette.database import QueryInterrupted
from datasette.facets import ColumnFacet, Facet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from ingest.tags import FACETED

from .filters import TAG_ARG, TAGS_TABLE
from .folders import TOP_LEVEL

# The counts table (kept by triggers, ingest/schema.py m014): a facet's values
# for the whole library, most pictures first.
COUNTS = (
    "select value, count from counts where facet = :facet and count > 0"
    " order by count desc, value limit :limit"
)


def unfiltered(facet) -> bool:
    """Whether a facet counts the whole table (no filter, no parameters)."""
    return not facet.params and " where " not in facet.sql.lower()


async def from_counts(facet) -> bool:
    """Whether a facet can read the counts table: unfiltered, and a database
    migrated since the table came (an older one served read-only is not)."""
    return unfiltered(facet) and await facet.ds.get_database(facet.database).table_exists("counts")


def facet_value(facet, arg: str, row, selected: bool) -> dict:
    """One value of a facet as Datasette draws it; its link adds `arg=value`
    to the page's filters, or takes it away when selected."""
    toggle = path_with_removed_args if selected else path_with_added_args
    path = toggle(facet.request, {arg: row["value"]})
    return {
        "value": row["value"],
        "label": row["value"],
        "count": row["count"],
        "toggle_url": facet.ds.absolute_url(facet.request, facet.ds.urls.path(path)),
        "selected": selected,
    }


class TagsFacet(Facet):
    """`?_facet_tags=1`, or `{"tags": "image_tags"}` in a table's facets."""

    type = "tags"

    async def suggest(self):
        return []

    async def facet_results(self):
        if not self.get_configs() or not self.table:
            return [], []
        size = self.get_facet_size()
        params = self.params
        if await from_counts(self):  # a few rows, whatever the size of the library
            sql, params = COUNTS, {"facet": "tag", "limit": size + 1}
        else:
            # Unfiltered, the tag index answers alone (36 ms at 100,000
            # pictures, against 200 ms through the IN list).
            within = "" if unfiltered(self) else f"and image_id in (select id from ({self.sql}))"
            sql = f"""
                select tag as value, count(*) as count from {escape_sqlite(TAGS_TABLE)}
                where {FACETED} {within}
                group by tag order by count desc, tag limit {size + 1}
            """
        try:
            rows = await self.ds.execute(
                self.database,
                sql,
                params,
                truncate=False,
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )
        except QueryInterrupted:  # too slow: dropped and reported, as core facets do
            return [], ["tags"]
        selected = set(self.request.args.getlist(TAG_ARG))
        values = [
            facet_value(facet=self, arg=TAG_ARG, row=row, selected=row["value"] in selected)
            for row in rows.rows[:size]
        ]
        result = {
            "name": "tags",
            "type": "column",  # drawn like a column facet: "tags", not "tags (tags)"
            "hideable": True,
            "toggle_url": self.ds.urls.path(
                path_with_removed_args(self.request, {"_facet_tags": "1"})
            ),
            "results": values,
            "truncated": len(rows.rows) > size,
        }
        return [result], []


class CountedFacet(ColumnFacet):
    """`{"counted": "look"}` in a table's facets: Datasette's column facet,
    which reads the counts table when the page is unfiltered (a million
    pictures are not counted again for each view)."""

    type = "counted"

    async def suggest(self):
        return []

    async def facet_results(self):
        if await from_counts(self):
            results, timed_out = await self.counted_results(), []
        else:
            results, timed_out = await super().facet_results()
        for result in results:
            result["type"] = "column"  # shown as a plain column facet
        # A facet with nothing to count (no capture times: no events) is clutter.
        return [result for result in results if result["results"]], timed_out

    async def counted_results(self) -> list[dict]:
        """What ColumnFacet gives for an unfiltered page, from the counts."""
        size = self.get_facet_size()
        results = []
        for config in self.get_configs():
            column = config["config"].get("column") or config["config"]["simple"]
            answer = await self.ds.execute(
                self.database, COUNTS, {"facet": column, "limit": size + 1}
            )
            # Unfiltered: no value is selected.
            values = [
                facet_value(facet=self, arg=column, row=row, selected=False)
                for row in answer.rows[:size]
            ]
            hide = path_with_removed_args(self.request, {"_facet": column})
            results.append(
                {
                    "name": column,
                    "type": self.type,
                    "hideable": config["source"] != "metadata",
                    "toggle_url": self.ds.urls.path(hide),
                    "results": values,
                    "truncated": len(answer.rows) > size,
                }
            )
        return results


class FolderFacet(CountedFacet):
    """`{"folder": "folder"}` in a table's facets: the folder column, with the
    thumbnails root shown as TOP_LEVEL instead of Datasette's "-"."""

    type = "folder"

    async def facet_results(self):
        results, timed_out = await super().facet_results()
        for result in results:
            for value in result["results"]:
                if value["value"] == "":
                    value["label"] = TOP_LEVEL
        return results, timed_out
