"""The "similar images" query, registered by the plugin so it works without
metadata, on read-only and published copies too."""

from __future__ import annotations

from .detect import known_library_names

SIMILAR = "similar"  # the query's name: /{database}/similar
SIMILAR_SQL = """select other.id, json_extract(hit.value, '$[1]') as whash_distance,
  hamming(other.phash_int, this.phash_int) + hamming(other.dhash_int, this.dhash_int)
    as phash_dhash_distance,
  other.size, other.folder, other.tags
from images this, json_each(nearest_images(:id, 24)) hit
join images other on other.rowid = json_extract(hit.value, '$[0]')
where this.id = :id
order by whash_distance, other.id
limit 24"""


def similar_queries(datasette, database: str) -> dict:
    """{query name: definition} for cattags databases, else nothing."""
    if database not in known_library_names(datasette):
        return {}
    return {
        SIMILAR: {
            "sql": SIMILAR_SQL,
            "title": "Similar images",
            "description": "The pictures nearest to :id by whash, with their phash+dhash distance.",
        }
    }
