"""Storing who is near whom: each picture's nearest neighbours by whash, the
near-duplicate pairs a rule decides, and the clusters those pairs form.

A run after new pictures arrive only compares the new ones against all; the
stored result equals a full recomputation (ties are broken by id, so the
answer is unique).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from .core import VARIANT_BYTES, VARIANT_HASHES, hex_to_int64, unpack_variants
from .groups import apply_decisions, save_clusters
from .hashing import VARIANT_NAMES
from .matching import HASHES, Codes, Rule, find_duplicates, parse_rule
from .parallel import capped_workers
from .store import read_settings, save_settings, write_transaction

# Pictures whose list of neighbours is full (? = k, or one fewer than the pictures).
FULL_LISTS = "SELECT image_id FROM neighbours GROUP BY image_id HAVING count(*) >= ?"


@dataclass
class NearbySummary:
    """What a pairs run computed."""

    images: int = 0
    new: int = 0
    full: bool = False
    near_duplicates: int = 0
    clusters: int = 0
    look_groups: int | None = None  # set once looks are grouped (lookgroups.py)

    def line(self) -> str:
        how = "all" if self.full else f"{self.new:,} new"
        looks = "" if self.look_groups is None else f", {self.look_groups:,} look-alike groups"
        return (
            f"nearest neighbours for {how} of {self.images:,} images, "
            f"{self.near_duplicates:,} near-duplicate pairs in {self.clusters:,} groups{looks}"
        )


def load_codes(db: Database) -> tuple[Codes, int, np.ndarray]:
    """Every picture's hashes and variant hashes, in id order, then those of
    each file whose own hashes differ from its picture's (a row each, under
    its picture's id); how many rows are pictures; and those files' rowids."""
    rows = db.execute(
        "SELECT id, whash_int, phash_int, dhash_int, v.hashes FROM images"
        " LEFT JOIN variant_hashes v ON v.image_id = images.id ORDER BY id"
    ).fetchall()
    pictures = len(rows)
    files = db.execute(
        "SELECT image_id, whash, phash, dhash, variants, rowid FROM files"
        " WHERE variants IS NOT NULL AND image_id IS NOT NULL AND missing_since IS NULL"
        " ORDER BY image_id, path"
    ).fetchall()
    rows += [(f[0], *(hex_to_int64(h) if h else None for h in f[1:4]), f[4]) for f in files]
    plain = {
        name: np.array([row[k + 1] or 0 for row in rows], dtype=np.int64).view(np.uint64)
        for k, name in enumerate(HASHES)
    }
    count = np.array([len(row[4] or b"") // VARIANT_BYTES for row in rows], dtype=np.int64)
    count = np.minimum(count, len(VARIANT_NAMES))
    has_variants = np.arange(len(VARIANT_NAMES)) < count[:, None]
    variants = np.zeros((len(rows), len(VARIANT_NAMES), len(VARIANT_HASHES)), dtype=np.uint64)
    # Rows stored with the same number of variants are unpacked together.
    for stored in np.unique(count[count > 0]):
        which = np.flatnonzero(count == stored)
        packed = b"".join(rows[n][4][: stored * VARIANT_BYTES] for n in which)
        variants[which, :stored] = unpack_variants(packed).reshape(len(which), stored, -1)
    rowids = np.array([f[5] for f in files], dtype=np.int64)
    return (
        Codes(
            ids=[row[0] for row in rows], plain=plain, variants=variants, has_variants=has_variants
        ),
        pictures,
        rowids,
    )


def save_nearby(
    db: Database,
    neighbours: int | None = None,
    rule: str | None = None,
    full: bool = False,
    workers: int | None = None,
    crops: bool | None = None,
) -> NearbySummary:
    """Nearest neighbours, near-duplicate pairs and clusters, stored in the
    database. crops: also find copies with about 5% cut off a side (None:
    as stored, else no)."""
    settings = read_settings(db)
    k = neighbours or settings.neighbours
    parsed = parse_rule(rule or settings.rule)
    crops = settings.crops if crops is None else crops
    asked: dict[str, object] = {"neighbours": k, "rule": str(parsed), "crops": crops}
    if any(
        not settings.stored(key) or getattr(settings, key) != value for key, value in asked.items()
    ):
        full = True  # a different question: nothing stored can be reused
    searched = settings.files_searched  # the last file row searched
    if not full and not waiting(db, k) and not unsearched_files(db, searched):
        return stored_summary(db)  # nothing new: what is stored stands
    workers = capped_workers(workers)
    codes, pictures, rowids = load_codes(db)
    ids = codes.ids[:pictures]
    whash = codes.plain["whash"][:pictures]
    position = {image_id: n for n, image_id in enumerate(ids)}
    # Pictures with a full list of neighbours are done; the rest (new ones, and
    # ones listed when the collection had fewer than k others) are searched.
    done = {row[0] for row in db.execute(FULL_LISTS, [min(k, len(ids) - 1)])}
    new = np.array([n for n, i in enumerate(ids) if i not in done], dtype=np.int64)
    if len(ids) < 2:
        new = np.empty(0, dtype=np.int64)
    summary = NearbySummary(images=len(ids), new=len(new), full=full)
    # Files whose own hashes differ from their picture's and that came after
    # the last search are searched as new ones too.
    new_files = pictures + np.flatnonzero(rowids > searched)
    flat = {row[0] for row in db.execute("SELECT id FROM images WHERE flat = 1")}
    with write_transaction(db):
        if full:
            _save_all_neighbours(db=db, ids=ids, whash=whash, k=k, workers=workers)
            db.execute("DELETE FROM pairs WHERE near_duplicate = 1")
            if len(ids) >= 2:
                found = find_duplicates(codes=codes, rule=parsed, crops=crops, workers=workers)
                _write_duplicates(db=db, ids=codes.ids, rule=parsed, found=found, flat=flat)
        elif len(new) or len(new_files):
            if len(new):
                _save_new_neighbours(
                    db=db, ids=ids, position=position, whash=whash, k=k, new=new, workers=workers
                )
            found = find_duplicates(
                codes=codes,
                rule=parsed,
                crops=crops,
                workers=workers,
                new=np.append(new, new_files),
            )
            _write_duplicates(db=db, ids=codes.ids, rule=parsed, found=found, flat=flat)
        apply_decisions(db)
        summary.clusters = save_clusters(db)
        summary.near_duplicates = db.execute(
            "SELECT count(*) FROM pairs WHERE near_duplicate = 1"
        ).fetchone()[0]
        last = int(rowids.max()) if len(rowids) else searched
        save_settings(db, {**asked, "files_searched": max(last, searched)})
    return summary


def unsearched_files(db: Database, searched: int) -> bool:
    """Whether a file whose own hashes differ from its picture's came after
    the last search (files rows get a new rowid each time they are written)."""
    found = db.execute(
        "SELECT 1 FROM files WHERE variants IS NOT NULL AND rowid > ? LIMIT 1", [searched]
    ).fetchone()
    return found is not None


def waiting(db: Database, k: int) -> int:
    """How many pictures lack a full list of neighbours (new ones, say)."""
    images = db["images"].count
    width = min(k, images - 1)
    if images < 2:
        return 0
    listed = db.execute(f"SELECT count(*) FROM ({FULL_LISTS})", [width]).fetchone()[0]
    return images - listed


def stored_summary(db: Database) -> NearbySummary:
    """The summary of a run that found nothing to do."""
    return NearbySummary(
        images=db["images"].count,
        near_duplicates=db.execute(
            "SELECT count(*) FROM pairs WHERE near_duplicate = 1"
        ).fetchone()[0],
        clusters=db.execute(
            "SELECT count(DISTINCT cluster) FROM images WHERE cluster IS NOT NULL"
        ).fetchone()[0],
    )


# -- nearest neighbours -----------------------------------------------------


def _save_all_neighbours(db, ids, whash, k, workers) -> None:
    db.execute("DELETE FROM neighbours")
    # near_duplicate = 0: a whash rule's pairs share the algorithm name.
    db.execute("DELETE FROM pairs WHERE algorithm = 'whash' AND near_duplicate = 0")
    db.execute("UPDATE images SET nearest_id = NULL, nearest_distance = NULL")
    if len(ids) < 2:
        return
    from .search import find_nearest  # the compiled search, loaded only when searching

    index, distance = find_nearest(whash, k, workers)
    _write_neighbours(db=db, ids=ids, rows=range(len(ids)), index=index, distance=distance)
    db.execute(
        "INSERT INTO pairs (image_a, image_b, algorithm, distance)"
        " SELECT min(image_id, neighbour_id), max(image_id, neighbour_id), 'whash', distance"
        " FROM neighbours WHERE true ON CONFLICT DO NOTHING"
    )
    _refresh_nearest(db, "SELECT id FROM images")


def _write_neighbours(db, ids, rows, index, distance) -> None:
    db.conn.executemany(
        "INSERT OR REPLACE INTO neighbours (image_id, rank, neighbour_id, distance) VALUES (?, ?, ?, ?)",
        (
            (ids[n], rank, ids[j], int(d))
            for n, row_i, row_d in zip(rows, index, distance, strict=True)
            for rank, (j, d) in enumerate(zip(row_i, row_d, strict=True))
            if j >= 0
        ),
    )


def _refresh_nearest(db, which: str) -> None:
    db.execute(
        f"""UPDATE images SET
            nearest_id = (SELECT neighbour_id FROM neighbours WHERE image_id = images.id AND rank = 0),
            nearest_distance = (SELECT distance FROM neighbours WHERE image_id = images.id AND rank = 0)
        WHERE id IN ({which})"""
    )


def _save_new_neighbours(db, ids, position, whash, k, new, workers) -> None:
    """New pictures against all; old pictures whose top-k a new one enters are redone."""
    n = len(ids)
    width = min(k, n - 1)
    from .search import NO_DISTANCE, nearest_for_new

    kth_d = np.full(n, NO_DISTANCE, dtype=np.int64)
    kth_i = np.full(n, n, dtype=np.int64)  # "no k-th yet": any index beats it
    lists: dict[int, list[tuple[int, int]]] = {}
    for image_id, _rank, neighbour_id, d in db.execute(
        "SELECT image_id, rank, neighbour_id, distance FROM neighbours ORDER BY image_id, rank"
    ):
        row, other = position.get(image_id), position.get(neighbour_id)
        if row is None or other is None:
            continue
        lists.setdefault(row, []).append((d, other))
    for row, found in lists.items():
        if len(found) >= width:
            kth_d[row], kth_i[row] = found[width - 1]
    kth_d[new] = -1  # the new ones get their own full scan
    best_i, best_d, entered = nearest_for_new(
        codes=whash, new=new, k=width, kth_d=kth_d, kth_i=kth_i, workers=workers
    )
    changed: dict[int, list[tuple[int, int]]] = {}
    for old, query, d in entered:
        changed.setdefault(old, list(lists.get(old, []))).append((d, query))
    rows = list(new) + sorted(changed)
    index = np.vstack([best_i] + [_top(changed[r], width)[0] for r in sorted(changed)])
    distance = np.vstack([best_d] + [_top(changed[r], width)[1] for r in sorted(changed)])
    affected = [ids[r] for r in rows]
    db.execute("CREATE TEMP TABLE IF NOT EXISTS affected (id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM temp.affected")
    db.conn.executemany("INSERT INTO temp.affected VALUES (?)", ((a,) for a in affected))
    db.execute("DELETE FROM neighbours WHERE image_id IN (SELECT id FROM temp.affected)")
    _write_neighbours(db=db, ids=ids, rows=rows, index=index, distance=distance)
    db.execute(
        "DELETE FROM pairs WHERE algorithm = 'whash' AND near_duplicate = 0"
        " AND (image_a IN (SELECT id FROM temp.affected)"
        " OR image_b IN (SELECT id FROM temp.affected))"
    )
    db.execute(
        "INSERT INTO pairs (image_a, image_b, algorithm, distance)"
        " SELECT min(image_id, neighbour_id), max(image_id, neighbour_id), 'whash', distance"
        " FROM neighbours WHERE image_id IN (SELECT id FROM temp.affected)"
        " OR neighbour_id IN (SELECT id FROM temp.affected) ON CONFLICT DO NOTHING"
    )
    _refresh_nearest(db, "SELECT id FROM temp.affected")


def _top(found: list[tuple[int, int]], width: int) -> tuple[np.ndarray, np.ndarray]:
    best = sorted(set(found))[:width]
    return (
        np.array([[j for _, j in best]], dtype=np.int64),
        np.array([[d for d, _ in best]], dtype=np.int64),
    )


# -- near-duplicates and clusters -------------------------------------------


def _write_duplicates(db, ids, rule: Rule, found, flat: set[str]) -> None:
    """Store pairs within the rule, the smallest distance of each pair of
    pictures (rows of one picture's files meet under its id; a picture never
    pairs with itself); the rule column says how a pair met ("phash+dhash<=18,
    mirrored") when it met through a variant. A picture of one colour
    (`flat`) has no detail to compare: it is never a near-duplicate (every
    flat picture hashes alike)."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for n, (i, j, d) in enumerate(zip(found.a, found.b, found.total, strict=True)):
        a, b = sorted((ids[i], ids[j]))
        if a == b or a in flat or b in flat:
            continue
        if (a, b) not in best or int(d) < best[a, b][0]:
            best[a, b] = (int(d), ", ".join(filter(None, [str(rule), found.label(n)])))
    # A pair stored before (an incremental run) keeps the smaller distance.
    db.conn.executemany(
        "INSERT INTO pairs (image_a, image_b, algorithm, distance, near_duplicate, rule)"
        " VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (image_a, image_b, algorithm) DO UPDATE SET"
        " rule = iif(near_duplicate = 0 OR excluded.distance < distance, excluded.rule, rule),"
        " distance = iif(near_duplicate = 0 OR excluded.distance < distance,"
        " excluded.distance, distance), near_duplicate = 1",
        ((a, b, rule.name, d, how) for (a, b), (d, how) in best.items()),
    )
