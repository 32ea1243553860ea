"""Filters the images table takes beyond Datasette's own (the
filters_from_request hook):

- `?_tag=black`: pictures whose current tags include black (not those that
  have left a black folder; core's `?_through=` matches a tag of any origin);
- `?_alike=ID&_alike_k=20`: the 20 pictures that look most like picture ID
  (looks_like(), the picture itself included), as far as the other filters
  let them through: "Select similar" asks for these.
"""

from __future__ import annotations

from datasette.filters import FilterArguments

from ingest.lookup import MAX_HITS
from ingest.tags import CURRENT

TAG_ARG = "_tag"
ALIKE_ARG, ALIKE_K_ARG = "_alike", "_alike_k"
ALIKE_K = 20  # look-alikes asked for when `_alike_k` is not given
TAGS_TABLE = "image_tags"


def request_filters(request) -> FilterArguments | None:
    """The `?_tag=` and `?_alike=` filters of a request, or None."""
    if request is None:
        return None
    clauses, params, described = [], {}, []
    for n, tag in enumerate(dict.fromkeys(request.args.getlist(TAG_ARG))):
        params[f"cattags_tag_{n}"] = tag
        clauses.append(
            f"id in (select image_id from {TAGS_TABLE} where tag = :cattags_tag_{n} and {CURRENT})"
        )
        described.append(f'tagged "{tag}"')
    alike = request.args.get(ALIKE_ARG)
    if alike:
        k = alike_count(request.args.get(ALIKE_K_ARG))
        params.update({"cattags_alike": alike, "cattags_alike_k": k})
        # The look-alikes of a picture one less than k, and the picture itself.
        clauses.append(
            "(id = :cattags_alike or rowid in (select json_extract(value, '$[0]')"
            " from json_each(looks_like(:cattags_alike, :cattags_alike_k - 1))))"
        )
        described.append(f"among the {k} that look most like {alike}")
    if not clauses:
        return None
    return FilterArguments(clauses, params, described)


def alike_count(text: str | None) -> int:
    """`_alike_k` as a count from 2 to MAX_HITS (ALIKE_K when not a number)."""
    try:
        return max(2, min(MAX_HITS, int(text or ALIKE_K)))
    except ValueError:
        return ALIKE_K
