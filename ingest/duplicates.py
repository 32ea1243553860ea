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

import dataclasses
import datetime
import functools
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlite_utils import Database

from .core import VARIANT_BYTES, hamming, hex_to_int64, unpack_variants
from .errors import UnknownFile
from .groups import DECISION_RULE
from .matching import Hashed, Rule, meets, parse_rule
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
    mtime: int | None  # the file's modification time, nanoseconds since the epoch
    kept: bool
    differs: str  # how it differs from the first file of its picture ("" for that one)
    raw_path: bytes | None = field(default=None, repr=False)  # when the name is not UTF-8
    hashes: tuple[str | None, str | None, str | None] = field(default=(None, None, None))
    variants: bytes | None = field(default=None, repr=False)  # its own, when not its picture's
    hashed: Hashed | None = field(default=None, repr=False)  # as `meets` compares them

    @property
    def modified(self) -> str | None:
        """The file's modification time, UTC ISO 8601, to the second."""
        if self.mtime is None:
            return None
        moment = datetime.datetime.fromtimestamp(self.mtime // 10**9, datetime.UTC)
        return moment.isoformat(timespec="seconds")


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


def hash_bits(a: tuple, b: tuple) -> int | None:
    """Sum of Hamming distances of the two files' whash, phash and dhash;
    None when one is not known."""
    if None in a or None in b:
        return None
    return sum(hamming(hex_to_int64(x), hex_to_int64(y)) for x, y in zip(a, b, strict=True))


ALL_SETS = """
    SELECT image_id AS id FROM files WHERE image_id IS NOT NULL AND missing_since IS NULL
    GROUP BY image_id HAVING count(*) > 1
    UNION SELECT id FROM images WHERE cluster > 0  -- (not IS NOT NULL: this reads its index)
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
    f.whash, f.phash, f.dhash, f.variants, k.path IS NOT NULL
FROM shown JOIN images i ON i.id = shown.id
LEFT JOIN files f ON f.image_id = i.id AND f.missing_since IS NULL
LEFT JOIN kept_files k ON k.path = f.path
ORDER BY i.id, f.path
"""
PICTURE_COLUMNS = 12  # the images columns of SET_QUERY; the files columns follow


class Joined:
    """Nodes joined into connected groups (union-find with path halving)."""

    def __init__(self, nodes):
        self.parent = {node: node for node in nodes}

    def root(self, node):
        parent = self.parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(self, x, y) -> None:
        self.parent[self.root(x)] = self.root(y)

    def groups(self) -> dict:
        """root -> its nodes, in the order the nodes were given."""
        found: dict = {}
        for node in self.parent:
            found.setdefault(self.root(node), []).append(node)
        return found


@dataclass
class Parts:
    """A picture as the listing reads it: its row, and its files grouped into
    the photographs they are (usually one group). Its variant hashes are
    read only when a comparison needs them."""

    picture: Picture
    cluster: int | None
    own: tuple[str | None, ...]  # its whash, phash and dhash
    load: Callable[[], bytes | None]  # its packed variant hashes
    parts: list[list[CopyFile]] = field(default_factory=list)
    _hashed: Hashed | None = None

    @property
    def hashed(self) -> Hashed:
        if self._hashed is None:
            self._hashed = hashed_of(self.own, self.load())
        return self._hashed

    def of(self, file: CopyFile) -> Hashed:
        """A file's hashes as `meets` compares them."""
        if file.hashed is None:
            if None in file.hashes:  # read before files had their own: its picture's
                file.hashed = self.hashed
            elif file.variants is None:  # its own are its picture's
                file.hashed = Hashed(tuple(int(h, 16) for h in file.hashes), self.hashed.variants)
            else:
                file.hashed = hashed_of(file.hashes, file.variants)
        return file.hashed

    def picture_part(self, n: int) -> Picture:
        """The picture as one set shows it: with the files of its part n."""
        part = self.parts[n]
        shown = self.picture if len(self.parts) == 1 else dataclasses.replace(self.picture)
        shown.files = part
        shown.same_bytes = len(part) > 1 and len({f.sha256 for f in part}) == 1
        return shown


def list_sets(db: Database, picture: str | None = None) -> list[CopySet]:
    """Every set of two or more files that are one picture or near-duplicates,
    most files first; a picture whose originals are gone counts as one.
    With `picture`, only the sets of that picture and its group.

    A set is a connected group of files: files of one picture that are one
    photograph (the rule on their own hashes, or the same bytes), joined
    with another picture's where a near-duplicate pair joins the two
    pictures and (when either picture holds different photographs) the
    files themselves meet the rule."""
    settings = read_settings(db)
    rule = parse_rule(settings.rule)
    crops = settings.crops
    shown = ONE_PICTURE if picture else ALL_SETS
    arguments = {"picture": picture} if picture else {}
    rows = db.execute(SET_QUERY.format(shown=shown), arguments)
    read = {
        parts.picture.id: parts for parts in read_pictures(db=db, rows=rows, rule=rule, crops=crops)
    }
    joined = Joined(
        (image_id, n) for image_id, parts in read.items() for n in range(len(parts.parts))
    )
    pairs = db.execute(
        "SELECT image_a, image_b, algorithm, distance, rule FROM pairs WHERE near_duplicate = 1"
        " ORDER BY image_a, image_b"
    )
    met: list[tuple[tuple[str, int], dict]] = []
    for a, b, algorithm, distance, how in pairs:
        if a not in read or b not in read:
            continue
        for x, y in meeting_parts(
            a=read[a], b=read[b], decided=algorithm == DECISION_RULE, rule=rule, crops=crops
        ):
            joined.join((a, x), (b, y))
            met.append(((a, x), {"image_a": a, "image_b": b, "distance": distance, "rule": how}))
    pairs_of: dict[tuple[str, int], list[dict]] = {}
    for node, pair in met:
        pairs_of.setdefault(joined.root(node), []).append(pair)
    sets = []
    for top, members in joined.groups().items():
        pictures = [read[image_id].picture_part(n) for image_id, n in members]
        if sum(max(1, len(p.files)) for p in pictures) < 2:
            continue
        several = len({p.id for p in pictures}) > 1
        cluster = read[members[0][0]].cluster if several else None
        sets.append(
            CopySet(number=0, cluster=cluster, pictures=pictures, pairs=pairs_of.get(top, []))
        )
    sets.sort(key=lambda s: (-len(s.files), -len(s.pictures), s.pictures[0].id))
    for number, copy_set in enumerate(sets, start=1):
        copy_set.number = number
    return sets


def read_pictures(db: Database, rows, rule: Rule, crops: bool) -> Iterator[Parts]:
    """Each picture of SET_QUERY's rows with its files grouped."""
    for (image_id, *row), group in itertools.groupby(rows, lambda r: r[:PICTURE_COLUMNS]):
        size, fmt, folder, version, width, height, cluster, flat, *own = row
        files = [file_of(image_id, size, r[PICTURE_COLUMNS:]) for r in group if r[PICTURE_COLUMNS]]
        picture = Picture(
            id=image_id,
            size=size,
            format=fmt,
            folder=folder,
            thumbnail=version,
            thumb_width=width,
            thumb_height=height,
            files=[],
            same_bytes=False,
        )
        read = Parts(
            picture=picture,
            cluster=cluster,
            own=tuple(own),
            load=functools.partial(stored_variants, db, image_id),
        )
        # Pictures of one colour all share an id: their files are alike only
        # byte for byte. Other files share an id when their grey pictures
        # look alike at 8x8; the rule on each file's own hashes tells apart
        # the rare different photographs that do.
        if flat:
            read.parts = split_by_bytes(files)
        elif len({f.hashes for f in files if None not in f.hashes}) > 1:
            read.parts = split_by_rule(files=files, picture=read, rule=rule, crops=crops)
        else:
            read.parts = [files]
        for part in read.parts:
            describe(part)
        picture.shares_id = len(read.parts) > 1
        yield read


def stored_variants(db: Database, image_id: str) -> bytes | None:
    row = db.execute("SELECT hashes FROM variant_hashes WHERE image_id = ?", [image_id]).fetchone()
    return row[0] if row else None


def meeting_parts(
    a: Parts, b: Parts, decided: bool, rule: Rule, crops: bool
) -> Iterator[tuple[int, int]]:
    """The parts of two paired pictures that are near-duplicates: the first
    of each when both are one photograph or a person decided them the same,
    else each two whose files meet the rule."""
    if decided or (len(a.parts) == 1 and len(b.parts) == 1):
        yield 0, 0
        return
    for x, one in enumerate(a.parts):
        for y, other in enumerate(b.parts):
            left = [a.of(f) for f in one] or [a.hashed]
            right = [b.of(f) for f in other] or [b.hashed]
            if any(meets(rule=rule, crops=crops, a=f, b=g) for f in left for g in right):
                yield x, y


def hashed_of(plain: tuple[str | None, ...], packed: bytes | None) -> Hashed:
    """Hashes as `meets` takes them, from hex text and packed variants."""
    values = tuple(int(h, 16) if h else 0 for h in plain)
    whole = len(packed or b"") // VARIANT_BYTES * VARIANT_BYTES  # as load_codes reads them
    variants = tuple(map(tuple, unpack_variants((packed or b"")[:whole]).tolist()))
    return Hashed(values, variants)


def file_of(image_id: str, size: str, row: tuple) -> CopyFile:
    path, raw, fmt, mode, size_bytes, sha256, mtime, whash, phash, dhash, packed, kept = row
    return CopyFile(
        path=path,
        image_id=image_id,
        size=size,
        format=fmt,
        mode=mode,
        bytes=size_bytes,
        sha256=sha256,
        mtime=mtime,
        kept=bool(kept),
        differs="",
        raw_path=raw,
        hashes=(whash, phash, dhash),
        variants=packed,
    )


def split_by_bytes(files: list[CopyFile]) -> list[list[CopyFile]]:
    """Files grouped by their checksum, in the order given."""
    groups: dict[str | None, list[CopyFile]] = {}
    for file in files:
        groups.setdefault(file.sha256 or file.path, []).append(file)
    return list(groups.values())


def split_by_rule(
    files: list[CopyFile], picture: Parts, rule: Rule, crops: bool
) -> list[list[CopyFile]]:
    """Files grouped by the near-duplicate rule on their own hashes (as is or
    through a variant, as pairs are found) or the same bytes, linked through
    any member; the group holding the file read as the picture was first."""
    if len(files) < 2:
        return [files]
    joined = Joined(range(len(files)))
    for n, file in enumerate(files):
        for m in range(n):
            other = files[m]
            same_bytes = file.sha256 is not None and file.sha256 == other.sha256
            if same_bytes or meets(rule=rule, crops=crops, a=picture.of(file), b=picture.of(other)):
                joined.join(n, m)
    parts = [[files[n] for n in members] for members in joined.groups().values()]
    first = next((f for f in files if f.hashes == picture.own), files[0])
    return sorted(parts, key=lambda part: first not in part)


def describe(files: list[CopyFile]) -> None:
    """Set each file's difference from the first: the kept file if any, else
    the first by path."""
    if len(files) < 2:
        return
    files.sort(key=lambda f: (not f.kept, f.path))
    for other in files[1:]:
        other.differs = difference(files[0], other)


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
    source = read_settings(db).source_root
    root = os.fsencode(path_from_setting(db_file(db), source)) + b"/" if source else b""
    for copy_set in list_sets(db):
        for file in copy_set.redundant:
            yield root + (file.raw_path or file.path.encode())
