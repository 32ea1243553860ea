"""Duplicates at the level of files: every set of two or more source files
that are one picture (byte copies, re-encodes: one id, several files) or
near-duplicates (pictures a pair joins), what tells each file from the
others, and the file a person keeps of each set.

Nothing here deletes or moves an original: `redundant_paths` lists the files
a person chose not to keep, for them to set aside.

What a picture's id means when its files differ: the id is the size and
the wavelet hash of the grey picture, so files whose pixels look the same at
that scale are one picture, whatever their format, bytes or colour (a grey
copy of a colour photograph is the same picture). Each file keeps its own
format, mode and hashes, and the listing says how it differs from the first
file of its picture. Simple pictures of one size can share a wavelet hash
without being one photograph, so a picture's files are grouped by the
near-duplicate rule on their own hashes (`split_by_rule`); pictures of one
colour all share an id per size, so their files group only by their bytes.
"""

from __future__ import annotations

import datetime
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlite_utils import Database

from .errors import UnknownFile
from .hashing import VARIANT_HASHES, hamming, hex_to_int64
from .matching import DEFAULT_RULE, Rule, parse_rule
from .store import db_file, path_from_setting, read_settings, utc_now, write_transaction


@dataclass
class CopyFile:
    """One source file of a set."""

    path: str
    image_id: str
    size: str
    format: str | None
    mode: str | None
    bytes: int | None
    sha256: str | None
    modified: str | None  # the file's modification time, UTC ISO 8601
    kept: bool
    differs: str  # how it differs from the first file of its picture ("" for that one)
    raw_path: bytes | None = field(default=None, repr=False)  # when the name is not UTF-8
    hashes: tuple[str | None, str | None, str | None] = field(default=(None, None, None))


@dataclass
class Picture:
    """A picture of a set and its files (none when its originals are gone)."""

    id: str
    size: str
    format: str | None
    folder: str
    thumbnail: str | None  # the thumbnail's sha256: its version in URLs
    thumb_width: int | None
    thumb_height: int | None
    files: list[CopyFile]
    same_bytes: bool  # two or more files, all byte-identical
    shares_id: bool = False  # other files of its id are a different photograph


@dataclass
class CopySet:
    """Files that are one picture, or the files of a near-duplicate group."""

    number: int  # 1 is the largest set
    cluster: int | None  # the near-duplicate group (images.cluster); None: one picture's files
    pictures: list[Picture]
    pairs: list[dict] = field(default_factory=list)  # image_a, image_b, distance, rule

    @property
    def files(self) -> list[CopyFile]:
        return [file for picture in self.pictures for file in picture.files]

    @property
    def kept(self) -> list[CopyFile]:
        return [file for file in self.files if file.kept]

    @property
    def redundant(self) -> list[CopyFile]:
        """The files not kept, once a person has kept one."""
        return [file for file in self.files if not file.kept] if self.kept else []

    @property
    def set_aside(self) -> list[str]:
        """Once a file is kept, the pictures none of whose files is kept."""
        if not self.kept:
            return []
        return [p.id for p in self.pictures if not any(f.kept for f in p.files)]

    def as_dict(self) -> dict:
        return {
            "set": self.number,
            "cluster": self.cluster,
            "files": len(self.files),
            "pictures": [
                {
                    "id": p.id,
                    "size": p.size,
                    "folder": p.folder,
                    "same_bytes": p.same_bytes,
                    "shares_id": p.shares_id,
                    "files": [
                        {
                            "path": f.path,
                            "format": f.format,
                            "mode": f.mode,
                            "bytes": f.bytes,
                            "sha256": f.sha256,
                            "modified": f.modified,
                            "kept": f.kept,
                            "differs": f.differs,
                        }
                        for f in p.files
                    ],
                }
                for p in self.pictures
            ],
            "pairs": self.pairs,
        }


@dataclass
class Summary:
    sets: int
    files: int
    pictures: int
    decided: int  # sets with a kept file
    redundant: int  # files of those sets not kept

    def line(self) -> str:
        return (
            f"{self.sets:,} set{'s' * (self.sets != 1)}: {self.files:,} files"
            f" of {self.pictures:,} picture{'s' * (self.pictures != 1)};"
            f" {self.decided:,} decided, {self.redundant:,} files redundant"
        )


def summarise(sets: list[CopySet]) -> Summary:
    return Summary(
        sets=len(sets),
        files=sum(len(s.files) for s in sets),
        pictures=sum(len(s.pictures) for s in sets),
        decided=sum(1 for s in sets if s.kept),
        redundant=sum(len(s.redundant) for s in sets),
    )


def modified(mtime_ns: int | None) -> str | None:
    if mtime_ns is None:
        return None
    moment = datetime.datetime.fromtimestamp(mtime_ns / 1e9, datetime.UTC)
    return moment.isoformat(timespec="seconds")


def difference(first: CopyFile, other: CopyFile) -> str:
    """How `other` differs from `first`, in a few words."""
    if first.sha256 and first.sha256 == other.sha256:
        return f"the same bytes as {first.path}"
    ways = []
    if first.format != other.format:
        ways.append(f"format ({other.format or '?'}, not {first.format or '?'})")
    if first.mode != other.mode:
        ways.append(f"mode ({other.mode or '?'}, not {first.mode or '?'})")
    ways.append(f"bytes ({other.bytes or 0:,}, not {first.bytes or 0:,})")
    apart = hash_bits(first.hashes, other.hashes)
    if apart is None:
        pixels = "pixels not compared (read before each file had its own hashes)"
    elif apart:
        pixels = f"pixels {apart} hash bit{'s' * (apart != 1)} apart"
    else:
        pixels = "pixels alike (every hash equal)"
    listed = ", ".join(ways[:-1]) + " and " + ways[-1] if len(ways) > 1 else ways[0]
    return f"differs from {first.path} in {listed}; {pixels}"


def hash_bits(a: tuple, b: tuple, columns: list[int] | None = None) -> int | None:
    """Sum of Hamming distances of the two files' hashes (whash, phash and
    dhash, or those `columns` of them); None when one is not known."""
    pick = range(len(a)) if columns is None else columns
    if any(value is None for n in pick for value in (a[n], b[n])):
        return None
    return sum(hamming(hex_to_int64(a[n]), hex_to_int64(b[n])) for n in pick)


ALL_SETS = """
    SELECT image_id AS id FROM files WHERE image_id IS NOT NULL AND missing_since IS NULL
    GROUP BY image_id HAVING count(*) > 1
    UNION SELECT id FROM images WHERE cluster IS NOT NULL
"""
# The pictures of one picture's sets: itself and its near-duplicate group.
ONE_PICTURE = """
    SELECT id FROM images WHERE id = :picture
    UNION SELECT id FROM images
    WHERE cluster = (SELECT cluster FROM images WHERE id = :picture)
"""
SET_QUERY = """
WITH shown AS ({shown})
SELECT i.id, i.size, i.format, i.folder, i.thumbnail, i.thumb_width, i.thumb_height,
    i.cluster, i.flat, i.whash, i.phash, i.dhash,
    f.path, f.raw_path, f.format, f.mode, f.bytes, f.sha256, f.mtime,
    f.whash, f.phash, f.dhash, k.path IS NOT NULL
FROM shown JOIN images i ON i.id = shown.id
LEFT JOIN files f ON f.image_id = i.id AND f.missing_since IS NULL
LEFT JOIN kept_files k ON k.path = f.path
ORDER BY i.id, f.path
"""
PICTURE_COLUMNS = 12  # the images columns of SET_QUERY; the files columns follow


def list_sets(db: Database, picture: str | None = None) -> list[CopySet]:
    """Every set of two or more files that are one picture or near-duplicates,
    most files first; a picture whose originals are gone counts as one.
    With `picture`, only the sets of that picture and its group."""
    rule = parse_rule(read_settings(db).get("rule", DEFAULT_RULE))
    query = SET_QUERY.format(shown=ONE_PICTURE if picture else ALL_SETS)
    rows = db.execute(query, {"picture": picture} if picture else {})
    by_key: dict[tuple, CopySet] = {}
    for (image_id, *picture_row), group in itertools.groupby(rows, lambda r: r[:PICTURE_COLUMNS]):
        size, fmt, folder, version, width, height, cluster, flat, *own_hashes = picture_row
        own = [file_of(image_id, size, r[PICTURE_COLUMNS:]) for r in group if r[PICTURE_COLUMNS]]
        # Pictures of one colour all share an id: their files are alike only
        # byte for byte. Other files share an id when their grey pictures
        # look alike at 8x8; the rule on each file's own hashes tells apart
        # the rare different photographs that do.
        parts = split_by_bytes(own) if flat else split_by_rule(own, rule, tuple(own_hashes))
        for n, part in enumerate(parts):
            describe(part)
            shown = Picture(
                id=image_id,
                size=size,
                format=fmt,
                folder=folder,
                thumbnail=version,
                thumb_width=width,
                thumb_height=height,
                files=part,
                same_bytes=len(part) > 1 and len({f.sha256 for f in part}) == 1,
                shares_id=len(parts) > 1,
            )
            # The near-duplicate pairs were found with the picture's own
            # hashes: those of the files read first, in the first part.
            joined = cluster is not None and n == 0
            key = ("cluster", cluster) if joined else ("picture", image_id, n)
            by_key.setdefault(key, CopySet(0, cluster if joined else None, [])).pictures.append(
                shown
            )
    sets = [s for s in by_key.values() if sum(max(1, len(p.files)) for p in s.pictures) > 1]
    sets.sort(key=lambda s: (-len(s.files), -len(s.pictures), s.pictures[0].id))
    for number, copy_set in enumerate(sets, start=1):
        copy_set.number = number
    add_pairs(db, sets)
    return sets


def file_of(image_id: str, size: str, row: tuple) -> CopyFile:
    path, raw, fmt, mode, size_bytes, sha256, mtime, whash, phash, dhash, kept = row
    return CopyFile(
        path=path,
        image_id=image_id,
        size=size,
        format=fmt,
        mode=mode,
        bytes=size_bytes,
        sha256=sha256,
        modified=modified(mtime),
        kept=bool(kept),
        differs="",
        raw_path=raw,
        hashes=(whash, phash, dhash),
    )


def split_by_bytes(files: list[CopyFile]) -> list[list[CopyFile]]:
    """Files grouped by their checksum, in the order given."""
    groups: dict[str | None, list[CopyFile]] = {}
    for file in files:
        groups.setdefault(file.sha256 or file.path, []).append(file)
    return list(groups.values())


def split_by_rule(files: list[CopyFile], rule: Rule, own: tuple) -> list[list[CopyFile]]:
    """Files grouped by the near-duplicate rule on their own hashes (or the
    same bytes), linked through any member; the part holding the files read
    as the picture was (its stored hashes, `own`) first. A file read before
    files had their own hashes joins that part."""
    if len(files) < 2:
        return [files]
    columns = [VARIANT_HASHES.index(name) for name in rule.hashes]
    parent = list(range(len(files)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    first = next((f for f in files if f.hashes == own), files[0])

    def alike(x: CopyFile, y: CopyFile) -> bool:
        if x.sha256 and x.sha256 == y.sha256:
            return True
        apart = hash_bits(x.hashes, y.hashes, columns)
        return first in (x, y) if apart is None else apart <= rule.limit

    for n, file in enumerate(files):
        for m in range(n):
            if alike(file, files[m]):
                parent[root(n)] = root(m)
    parts: dict[int, list[CopyFile]] = {}
    for n, file in enumerate(files):
        parts.setdefault(root(n), []).append(file)
    return sorted(parts.values(), key=lambda part: first not in part)


def describe(files: list[CopyFile]) -> None:
    """Set each file's difference from the first: the kept file if any, else
    the first by path."""
    if len(files) < 2:
        return
    files.sort(key=lambda f: (not f.kept, f.path))
    for other in files[1:]:
        other.differs = difference(files[0], other)


def add_pairs(db: Database, sets: list[CopySet]) -> None:
    by_cluster = {s.cluster: s for s in sets if s.cluster is not None}
    for cluster, a, b, distance, rule in db.execute(
        "SELECT i.cluster, p.image_a, p.image_b, p.distance, p.rule FROM pairs p"
        " JOIN images i ON i.id = p.image_a WHERE p.near_duplicate = 1"
        " ORDER BY i.cluster, p.image_a, p.image_b"
    ):
        if cluster in by_cluster:
            by_cluster[cluster].pairs.append(
                {"image_a": a, "image_b": b, "distance": distance, "rule": rule}
            )


def keep(db: Database, path: str, actor: str) -> list[str]:
    """Remember that a person keeps this file of its set (a later choice in
    the same set replaces it); the set's other files, which become redundant."""
    found = db.execute(
        "SELECT image_id FROM files WHERE path = ? AND image_id IS NOT NULL"
        " AND missing_since IS NULL",
        [path],
    ).fetchone()
    if found is None:
        raise UnknownFile(path)
    paths = next(
        (
            [f.path for f in s.files]
            for s in list_sets(db, found[0])
            if path in {f.path for f in s.files}
        ),
        [path],
    )
    with write_transaction(db):
        marks = ",".join("?" * len(paths))
        db.execute(f"DELETE FROM kept_files WHERE path IN ({marks})", paths)
        db.execute(
            "INSERT INTO kept_files (path, actor, at) VALUES (?, ?, ?)", [path, actor, utc_now()]
        )
    return [other for other in paths if other != path]


def redundant_paths(db: Database) -> Iterator[bytes]:
    """The path, as bytes, of every file a person chose not to keep: the
    files of each set with a kept file, other than the kept ones. Full paths
    when the database knows its source folder, else relative to it."""
    source = read_settings(db).get("source_root")
    root = os.fsencode(path_from_setting(db_file(db), source)) + b"/" if source else b""
    for copy_set in list_sets(db):
        for file in copy_set.redundant:
            yield root + (file.raw_path or file.path.encode())
