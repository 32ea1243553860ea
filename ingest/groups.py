"""Near-duplicate groups: the decisions people make about pairs and the
clusters the pairs form (duplicates.py lists them, file by file). Numpy
only: `cattags duplicates` and the plugin's review need no compiled search."""

from __future__ import annotations

import numpy as np
from sqlite_utils import Database

from .errors import CattagsError, UnknownPicture
from .store import utc_now, write_transaction

DECISIONS = ("different", "same")
DECISION_RULE = "decided"  # the algorithm and rule of a pair joined by a "same" decision


def ordered(a: str, b: str) -> tuple[str, str]:
    """A pair as pairs and decisions store it: the smaller id first."""
    return (a, b) if a < b else (b, a)


def decide(db: Database, a: str, b: str, decision: str, actor: str) -> None:
    """Remember that two pictures are "different" (never a near-duplicate
    pair again, whatever the rule) or the "same" (a pair even where the rule
    says no); then the pairs and groups follow. A later decision replaces it."""
    if decision not in DECISIONS:
        raise CattagsError(f"a decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    if a == b:
        raise CattagsError("a decision is about two different pictures")
    known = {row[0] for row in db.execute("SELECT id FROM images WHERE id IN (?, ?)", [a, b])}
    missing = [i for i in (a, b) if i not in known]
    if missing:
        raise UnknownPicture(missing)
    first, second = ordered(a, b)
    with write_transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO decisions (image_a, image_b, decision, actor, at)"
            " VALUES (?, ?, ?, ?, ?)",
            [first, second, decision, actor, utc_now()],
        )
        apply_decisions(db)
        save_clusters(db)


def apply_decisions(db: Database) -> None:
    """Near-duplicate pairs as decided: "different" pairs out, "same" pairs in."""
    db.execute(
        "DELETE FROM pairs WHERE near_duplicate = 1 AND (image_a, image_b) IN"
        " (SELECT image_a, image_b FROM decisions WHERE decision = 'different')"
    )
    db.execute(
        "DELETE FROM pairs WHERE algorithm = ? AND (image_a, image_b) NOT IN"
        " (SELECT image_a, image_b FROM decisions WHERE decision = 'same')",
        [DECISION_RULE],
    )
    db.execute(
        "INSERT OR IGNORE INTO pairs (image_a, image_b, algorithm, distance, near_duplicate, rule)"
        " SELECT d.image_a, d.image_b, ?, hamming(a.whash_int, b.whash_int), 1,"
        " 'same picture, decided by ' || coalesce(d.actor, '?')"
        " FROM decisions d JOIN images a ON a.id = d.image_a JOIN images b ON b.id = d.image_b"
        " WHERE d.decision = 'same'",
        [DECISION_RULE],
    )


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each of n nodes' component label (its smallest member) for the undirected
    edges a[i]-b[i]: union-find in whole-array steps (hook each edge's larger
    root onto the smaller, then halve the paths until every node points at its
    root), a few rounds even for millions of edges."""
    parent = np.arange(n)
    while True:
        root_a, root_b = parent[a], parent[b]
        apart = root_a != root_b
        if not apart.any():
            return parent
        low = np.minimum(root_a[apart], root_b[apart])
        high = np.maximum(root_a[apart], root_b[apart])
        np.minimum.at(parent, high, low)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def components_keeping_apart(
    n: int, edges: list[tuple[int, int]], apart: list[tuple[int, int]]
) -> list[int]:
    """Components of the edges, taken in the order given (closest pairs
    first), where an edge that would put two nodes of an `apart` pair into one
    component is skipped: pictures decided "different" never share a group,
    not even through a third picture near both."""
    parent = list(range(n))
    avoid: dict[int, set[int]] = {}  # root -> nodes its component must not hold
    for x, y in apart:
        avoid.setdefault(x, set()).add(y)
        avoid.setdefault(y, set()).add(x)

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for x, y in edges:
        rx, ry = root(x), root(y)
        if rx == ry:
            continue
        if any(root(z) == ry for z in avoid.get(rx, ())):
            continue
        low, high = min(rx, ry), max(rx, ry)
        parent[high] = low
        avoid[low] = avoid.get(low, set()) | avoid.pop(high, set())
    return [root(node) for node in range(n)]


def save_clusters(db: Database) -> int:
    """images.cluster: connected components of near-duplicate pairs, numbered by
    their smallest id; pictures with no near-duplicate get NULL. Pictures
    decided "different" are kept in separate groups."""
    db.execute("UPDATE images SET cluster = NULL WHERE cluster IS NOT NULL")
    edges = db.execute(
        "SELECT image_a, image_b FROM pairs WHERE near_duplicate = 1"
        " ORDER BY distance, image_a, image_b"
    ).fetchall()
    if not edges:
        return 0
    ids = sorted({image for edge in edges for image in edge})
    position = {image: n for n, image in enumerate(ids)}
    apart = [
        (position[x], position[y])
        for x, y in db.execute(
            "SELECT image_a, image_b FROM decisions WHERE decision = 'different'"
        )
        if x in position and y in position
    ]
    if apart:
        pairs = [(position[x], position[y]) for x, y in edges]
        label = np.array(components_keeping_apart(len(ids), pairs, apart))
    else:
        a = np.array([position[x] for x, _ in edges])
        b = np.array([position[y] for _, y in edges])
        label = connected_components(len(ids), a, b)
    first_member: dict[int, int] = {}
    size: dict[int, int] = {}
    for m in range(len(ids)):  # ids ascend, so the first seen is the smallest id
        first_member.setdefault(int(label[m]), m)
        size[int(label[m])] = size.get(int(label[m]), 0) + 1
    groups = [lab for lab in sorted(first_member, key=first_member.get) if size[lab] > 1]
    number = {lab: k + 1 for k, lab in enumerate(groups)}
    db.conn.executemany(
        "UPDATE images SET cluster = ? WHERE id = ?",
        ((number[int(label[m])], ids[m]) for m in range(len(ids)) if int(label[m]) in number),
    )
    return len(number)
