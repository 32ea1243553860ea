"""The gallery's facets: tags, a facet over the many-to-many image_tags table
(fast at 100,000 pictures, because it never reads the images rows
themselves; current tags only, without the size tags, which are noise
there), toggled by `?_tag=`; folder, Datasette's column facet with the
top level named; and counted, Datasette's column facet. Unfiltered, all three
remember their counts while the database is unchanged (remember.py)."""

from __future__ import annotations

from datasette.database import QueryInterrupted
from datasette.facets import ColumnFacet, Facet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from .filters import TAG_ARG, TAGS_TABLE
from .remember import Remembering, unfiltered

TOP_LEVEL = "(top level)"  # how the folder facet names the thumbnails root itself
CURRENT = "origin not in ('size', 'earlier folder')"  # the tags the facet counts


class TagsFacet(Facet):
    """`?_facet_tags=1`, or `{"tags": "image_tags"}` in a table's facets."""

    type = "tags"

    async def suggest(self):
        return []

    async def facet_results(self):
        if not self.get_configs() or not self.table:
            return [], []
        size = self.get_facet_size()
        # Unfiltered, the tag index answers alone (36 ms at 100,000 pictures,
        # against 200 ms through the IN list), and is remembered.
        whole = unfiltered(self)
        within = "" if whole else f"and image_id in (select id from ({self.sql}))"
        ask = Remembering(self.ds) if whole else self.ds
        sql = f"""
            select tag as value, count(*) as count from {escape_sqlite(TAGS_TABLE)}
            where {CURRENT} {within}
            group by tag order by count desc, tag limit {size + 1}
        """
        try:
            rows = await ask.execute(
                self.database,
                sql,
                self.params,
                truncate=False,
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )
        except QueryInterrupted:  # too slow: dropped and reported, as core facets do
            return [], ["tags"]
        selected = set(self.request.args.getlist(TAG_ARG))
        values = []
        for row in rows.rows[:size]:
            is_selected = row["value"] in selected
            if is_selected:
                path = path_with_removed_args(self.request, {TAG_ARG: row["value"]})
            else:
                path = path_with_added_args(self.request, {TAG_ARG: row["value"]})
            values.append(
                {
                    "value": row["value"],
                    "label": row["value"],
                    "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(path)),
                    "selected": is_selected,
                }
            )
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
    whose counts of the unfiltered table are remembered (remember.py)."""

    type = "counted"

    async def suggest(self):
        return []

    async def facet_results(self):
        if unfiltered(self):
            self.ds = Remembering(self.ds)  # this facet's own: one per request
        results, timed_out = await super().facet_results()
        for result in results:
            result["type"] = "column"  # shown as a plain column facet
        # A facet with nothing to count (no capture times: no events) is clutter.
        return [result for result in results if result["results"]], timed_out


class FolderFacet(CountedFacet):
    """`{"folder": "folder"}` in a table's facets: the folder column, with the
    thumbnails root shown as "(top level)" instead of Datasette's "-"."""

    type = "folder"

    async def facet_results(self):
        results, timed_out = await super().facet_results()
        for result in results:
            for value in result["results"]:
                if value["value"] == "":
                    value["label"] = TOP_LEVEL
        return results, timed_out
