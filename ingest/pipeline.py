"""`cattags ingest`: a folder of pictures into one SQLite database."""

from __future__ import annotations

import dataclasses
import functools
import gc
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sqlite_utils import Database

from .core import FILE_READING, thumbnail_name
from .errors import CattagsError, NoPictures, ReadOnlyDatabase
from .files import sweep_temp_files, write_atomically
from .library import opened
from .looks import CLASSIC, LOOK_KINDS, LookKind, kind_of_version
from .matching import parse_rule
from .parallel import capped_workers
from .rows import insert_image, save_variants, write_back_thumbnail
from .scanning import ScanItem, ScanProblem, Skipped, SourceFile, iter_source_files
from .settings import HASH_MODES, Settings
from .store import (
    begin_immediate,
    check_database,
    clear_errors,
    only_writer,
    path_from_setting,
    read_settings,
    save_error,
    save_settings,
    utc_now,
    writable,
)
from .tags import refresh_tags_column, save_tags, tags_from_path
from .thumbnails import iter_thumbnail_files

if TYPE_CHECKING:  # imported where used: a run with nothing to read never loads them
    from .analyse import Analysis, Failure
    from .nearby import NearbySummary

    LostTask = Callable[[SourceFile, Exception], Failure]

LOOKUP_BATCH = 500  # scanned files checked against the database per query
COMMIT_EVERY = 200  # analysed files per transaction
COMMIT_SECONDS = 2.0  # ...or this long, whichever comes first


@dataclass
class IngestSummary:
    """What one run found and did."""

    files: int = 0  # picture files found
    unchanged: int = 0  # skipped without opening: same size and mtime
    images: int = 0  # images in the database after the run
    new_images: int = 0  # images this run added
    tags: int = 0  # distinct tags in the database after the run
    skipped: int = 0  # files that are plainly not pictures
    missing: int = 0  # files recorded earlier and gone now
    errors: int = 0  # files recorded in the errors table this run
    nearby: NearbySummary | None = None  # neighbours and near-duplicates

    def line(self) -> str:
        """One line for people: counts with thousands separators."""
        parts = [
            f"{self.files:,} files ({self.unchanged:,} unchanged)",
            f"{self.images:,} images ({self.new_images:,} new)",
            f"{self.tags:,} tags",
        ]
        if self.skipped:
            parts.append(f"{self.skipped:,} skipped (not pictures)")
        if self.missing:
            parts.append(f"{self.missing:,} missing (see files.missing_since)")
        noun = "error" if self.errors == 1 else "errors"
        tail = " (see the errors table)" if self.errors else ""
        parts.append(f"{self.errors:,} {noun}{tail}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Locations:
    """Where a run reads and writes."""

    source: Path
    database: Path
    thumbs: Path

    def excluded(self) -> frozenset[Path]:
        """What a scan of the source must never read: our own output."""
        db = str(self.database)
        journals = {Path(db + suffix) for suffix in ("-wal", "-shm", "-journal")}
        return frozenset({self.thumbs, self.database, *journals})


def resolve_locations(
    source: Path | str, database: Path | str | None, thumbs: Path | str | None
) -> Locations:
    """Defaults: SOURCE/<name>.db and SOURCE/thumbs/."""
    root = Path(source).resolve()
    if not root.is_dir():
        raise CattagsError(f"{source} is not a folder")
    db_path = Path(database).resolve() if database else root / f"{root.name}.db"
    thumbs_path = Path(thumbs).resolve() if thumbs else root / "thumbs"
    return Locations(root, db_path, thumbs_path)


def ingest(
    source: Path | str,
    database: Path | str | None = None,
    thumbs: Path | str | None = None,
    size: int | None = None,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    commit_every: int = COMMIT_EVERY,
    neighbours: int | None = None,
    rule: str | None = None,
    crops: bool | None = None,
    mode: str | None = None,
    dask: str | None = None,
    looks: str | None = None,
) -> IngestSummary:
    """Hash, thumbnail and tag every picture under `source`, then store who is
    near whom (new pictures against all); return the summary.

    `mode`: "exact" (imagehash's hashes, bit for bit) or "fast" (pictures
    decoded at a reduced scale first); None keeps the database's mode.
    `dask`: read the pictures on the Dask scheduler at this address, or on a
    local cluster of `workers` processes for "local".
    `looks`: "classic" or "efficientnet" (looks.LOOK_KINDS); None keeps the
    database's kind."""
    where = resolve_locations(source, database, thumbs)
    if rule is not None:
        parse_rule(rule)  # a bad rule is refused before any work
    if dask is not None:
        from .dask_workers import require_dask

        require_dask()
    if looks is not None:
        require_look_kind(looks)
    kind = check_database(where.database, new_ok=True)
    if kind != "missing" and not writable(where.database):
        raise ReadOnlyDatabase(f"{where.database} is read-only: ingest cannot add to it")
    scan = None
    if kind != "cattags":  # a new database: no picture, no database
        scan = Scan(where)
        if not scan.has_pictures():
            raise NoPictures(f"no pictures found under {where.source}: nothing was written")
    with only_writer(where.database, "cattags ingest"), opened(where.database) as db:
        # Capped like this machine's processes: a remote cluster's own
        # workers ignore the count, a local one is on this machine.
        reading = Reading(
            size=size, mode=mode, workers=capped_workers(workers), dask=dask, looks=looks
        )
        summary = _ingest(
            db=db,
            where=where,
            thumbs=thumbs,
            reading=reading,
            on_progress=on_progress,
            commit_every=commit_every,
            scan=scan,
        )
        from .events import save_events
        from .lookgroups import save_looks
        from .nearby import save_nearby

        summary.nearby = save_nearby(db, neighbours, rule, workers=workers, crops=crops)
        summary.nearby.look_groups = save_looks(db).groups
        save_events(db)
    return summary


class Scan:
    """The source folder, walked once. has_pictures() walks on to the first
    picture and keeps what it passed; iterating starts from the beginning
    and walks on from there."""

    def __init__(self, where: Locations):
        self.where = where
        self._items = iter_source_files(where.source, where.excluded())
        self._passed: list[ScanItem] = []

    def has_pictures(self) -> bool:
        for item in self._items:
            self._passed.append(item)
            if isinstance(item, SourceFile):
                return True
        return False

    def __iter__(self) -> Iterator[ScanItem]:
        passed, self._passed = self._passed, []
        yield from passed
        yield from self._items


def _ingest(
    db: Database,
    where: Locations,
    thumbs: Path | str | None,
    reading: Reading,
    on_progress: Callable[[int], None] | None,
    commit_every: int,
    scan: Scan | None = None,
) -> IngestSummary:
    stored = read_settings(db)
    mode = hash_mode(db, stored, reading.mode)
    look = look_kind(db, stored, reading.looks)
    if thumbs is None and stored.thumbs_root is not None:
        where = Locations(
            where.source, where.database, path_from_setting(where.database, stored.thumbs_root)
        )
    size = reading.size or stored.thumb_size
    save_settings(
        db,
        {
            "source_root": where.source,
            "thumbs_root": where.thumbs,
            "thumb_size": size,
            "hash_algorithm": "whash",
            "hash_size": 8,
            "hash_mode": mode,
            # Recorded first for a database that holds no looks yet; an older
            # kind stays recorded until save_looks has made the new looks.
            "look": stored.look or look.version,
        },
    )
    where.thumbs.mkdir(parents=True, exist_ok=True)
    sweep_temp_files(where.thumbs)
    run = Run(db, where, on_progress or (lambda n: None), commit_every)
    if scan is None or scan.where != where:  # the database keeps its thumbnails elsewhere
        scan = Scan(where)
    analyse = functools.partial(_analyse, size=size, mode=mode, look=look)
    todo = run.to_analyse(scan)
    first = next(todo, None)
    if first is None:
        return run.finish()  # nothing to read: no compiled loops, no processes
    from .parallel import CHUNK, capped_workers, iter_map

    # A look ahead: a run of 30 files never starts 30 processes' worth of pool.
    ahead = list(itertools.islice(todo, reading.workers * CHUNK))
    files = itertools.chain([first], ahead, todo)
    reading = dataclasses.replace(reading, workers=capped_workers(reading.workers, 1 + len(ahead)))
    with readers(reading, look) as (executor, workers, on_lost):
        for file, result in iter_map(analyse, files, workers, executor=executor, lost=on_lost):
            run.save(file, result)
    return run.finish()


@contextmanager
def readers(
    reading: Reading, look: LookKind = CLASSIC
) -> Iterator[tuple[Executor | None, int, LostTask | None]]:
    """Where the pictures are read: (executor, tasks at once, what stands in
    for a task the executor gave up on). On a Dask cluster, the cluster's
    executor, and its lost tasks become errors. Here, iter_map's own pool of
    processes (None), which a broken worker stops as before."""
    if reading.dask:
        from .dask_workers import dask_pool

        with dask_pool(reading.dask, reading.workers) as pool:
            yield pool.executor, pool.workers, lost
        return
    from .pixels import warm_up

    warm_up()  # before the workers fork, so that they start warm
    if look != CLASSIC:
        from .learned import prepare

        prepare()  # the network's graph, made once for every worker
    # What exists now (modules, compiled code) lives until the end: the
    # collector stops walking it, here and in the forked workers, which then
    # also exit sooner.
    gc.freeze()
    yield None, reading.workers, None


@dataclass(frozen=True)
class Reading:
    """How a run reads pictures: thumbnail size and hash mode (None: the
    database's), and on how many processes, or on which Dask scheduler."""

    size: int | None
    mode: str | None
    workers: int
    dask: str | None = None
    looks: str | None = None  # the kind of looks asked for (None: the database's)


def lost(file: SourceFile, error: Exception) -> Failure:
    """The Failure of a file whose task the cluster gave up on."""
    from .analyse import Failure

    return Failure("analyse", f"the cluster could not read it ({type(error).__name__}: {error})")


def hash_mode(db: Database, stored: Settings, asked: str | None) -> str:
    """The mode this run hashes in: every picture of a database is hashed one
    way, so asking for the other mode on a database with pictures is refused
    (a database from before modes existed is exact)."""
    if asked is not None and asked not in HASH_MODES:
        raise CattagsError(f"unknown hash mode {asked!r}: use one of {', '.join(HASH_MODES)}")
    has_images = db["images"].count > 0
    current = stored.hash_mode or ("exact" if has_images else None)
    if asked is None or current is None or not has_images:
        return asked or current or "exact"
    if asked != current:
        switch = "--fast" if current == "fast" else "--exact (or no --fast)"
        raise CattagsError(
            f"this database's pictures were hashed in {current} mode, and one database"
            f" never mixes {current} and {asked} hashes: run again with {switch},"
            " or ingest into a new database with --db"
        )
    return asked


def require_look_kind(name: str) -> LookKind:
    """The kind of looks `name` asks for; CattagsError for an unknown one,
    or when the learned look's extra is missing."""
    if name not in LOOK_KINDS:
        raise CattagsError(f"unknown looks {name!r}: use one of {', '.join(LOOK_KINDS)}")
    kind = LOOK_KINDS[name]
    if kind != CLASSIC:
        from .learned import MissingNetwork, require_network

        try:
            require_network()
        except MissingNetwork as error:
            raise CattagsError(str(error)) from None
    return kind


def look_kind(db: Database, stored: Settings, asked: str | None = None) -> LookKind:
    """The looks this run makes: a database holds one kind, so asking for
    another on a database with pictures is refused, as for hash modes."""
    current = kind_of_version(stored.look) if stored.look is not None else None
    if asked is None:  # the database's kind, which may need the looks extra
        return require_look_kind((current or CLASSIC).name)
    wanted = require_look_kind(asked)
    if current is not None and current != wanted and db["images"].count > 0:
        raise CattagsError(
            f"this database's looks are {current.name}, and one database never mixes"
            f" {current.name} and {wanted.name} looks: run again with --looks {current.name},"
            " or ingest into a new database with --db"
        )
    return wanted


def _analyse(file: SourceFile, size: int, mode: str, look: LookKind) -> Analysis | Failure:
    from .analyse import analyse_file

    return analyse_file(
        path=file.path,
        relative=file.relative,
        size=size,
        mode=mode,
        seen_bytes=file.bytes,
        look=look,
    )


class Run:
    """The database side of one ingest run (main process only)."""

    def __init__(
        self,
        db: Database,
        where: Locations,
        on_progress: Callable[[int], None],
        commit_every: int = COMMIT_EVERY,
    ):
        self.db = db
        self.commit_every = commit_every
        self.where = where
        self.on_progress = on_progress
        self.summary = IngestSummary()
        self.images_before = db["images"].count
        self.touched: set[str] = set()
        self.pending = 0
        self.last_commit = time.monotonic()
        self.thumbs_indexed = False
        db.execute("CREATE TEMP TABLE IF NOT EXISTS seen (path TEXT PRIMARY KEY)")
        db.execute("DELETE FROM temp.seen")
        begin_immediate(db)

    # -- scanning ---------------------------------------------------------

    def to_analyse(self, scan: Iterable[ScanItem]) -> Iterator[SourceFile]:
        """The scanned files that need reading; counts and records the rest."""
        batch: list[SourceFile] = []
        for item in scan:
            if isinstance(item, SourceFile):
                batch.append(item)
                if len(batch) >= LOOKUP_BATCH:
                    yield from self._changed(batch)
                    batch = []
            elif isinstance(item, Skipped):
                self.summary.skipped += 1
                self.on_progress(1)
            elif isinstance(item, ScanProblem):
                clear_errors(self.db, item.relative)
                save_error(db=self.db, path=item.relative, stage="scan", error=item.error)
                self.summary.errors += 1
                self.on_progress(1)
        yield from self._changed(batch)

    def _changed(self, batch: list[SourceFile]) -> Iterator[SourceFile]:
        if not batch:
            return
        self.summary.files += len(batch)
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO temp.seen (path) VALUES (?)",
            [(file.relative,) for file in batch],
        )
        marks = ",".join("?" * len(batch))
        # A picture stored before variant hashes existed, or a file stored
        # before files had their own hashes, is read once more.
        known = {
            row[0]: (row[1], row[2])
            for row in self.db.execute(
                f"SELECT path, bytes, mtime FROM files"
                f" JOIN variant_hashes v ON v.image_id = files.image_id"
                f" WHERE path IN ({marks}) AND files.whash IS NOT NULL",
                [file.relative for file in batch],
            )
        }
        for file in batch:
            if known.get(file.relative) == (file.bytes, file.mtime):
                self.summary.unchanged += 1
                self.on_progress(1)
            else:
                yield file

    # -- saving -----------------------------------------------------------

    def save(self, file: SourceFile, result: Analysis | Failure) -> None:
        """Store one analysed file; commit every so often."""
        clear_errors(self.db, file.relative)
        if result.failed:
            save_error(db=self.db, path=file.relative, stage=result.stage, error=result.error)
            self.summary.errors += 1
            self._save_file_row(
                file=file, image_id=None, size=result.bytes, sha256=result.sha256, reading={}
            )
        else:
            image_id, own_variants = self._save_image(result)
            folder = str(PurePosixPath(file.relative).parent)
            save_tags(db=self.db, image_id=image_id, tags=tags_from_path(folder), origin="source")
            reading = {**result.image, "variants": own_variants}
            self._save_file_row(
                file=file,
                image_id=image_id,
                size=result.bytes,
                sha256=result.sha256,
                reading=reading,
            )
            self.touched.add(image_id)
        self.on_progress(1)
        self.pending += 1
        if (
            self.pending >= self.commit_every
            or time.monotonic() - self.last_commit > COMMIT_SECONDS
        ):
            self._commit()

    def _save_file_row(
        self,
        file: SourceFile,
        image_id: str | None,
        size: int | None,
        sha256: str | None,
        reading: dict[str, object],
    ) -> None:
        """The file's row; `reading` is its own images row (format, mode and
        hashes of this file: another file of its picture may differ)."""
        self.db.execute(
            "INSERT OR REPLACE INTO files (path, image_id, bytes, mtime, sha256, missing_since,"
            " raw_path, format, mode, whash, phash, dhash, variants)"
            " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
            [
                file.relative,
                image_id,
                file.bytes if size is None else size,
                file.mtime,
                sha256,
                file.raw,
                *(reading.get(key) for key in FILE_READING),
            ],
        )

    def _save_image(self, result: Analysis) -> tuple[str, bytes | None]:
        """The picture of an analysed file, stored if new; and the file's own
        variant hashes when its hashes differ from those of the picture it
        joins (None: the picture's are its own)."""
        image = result.image
        image_id = str(image["id"])
        row = self.db.execute(
            "SELECT folder, phash, dhash FROM images WHERE id = ?", [image_id]
        ).fetchone()
        if row is not None:
            # Known picture: its thumbnail stays where the user put it.
            if not (self.where.thumbs / row[0] / thumbnail_name(image_id)).exists():
                write_back_thumbnail(
                    db=self.db, root=self.where.thumbs, identity=image_id, folder=row[0]
                )
            if (image["phash"], image["dhash"]) != (row[1], row[2]):
                return image_id, result.variants  # this file's own, not its picture's
            save_variants(self.db, image_id, result.variants)  # where it has none yet
            return image_id, None
        folder = self._existing_thumbnail_folder(thumbnail_name(image_id))
        if folder is None:
            folder = ""
            write_atomically(self.where.thumbs / thumbnail_name(image_id), result.png)
        insert_image(
            db=self.db,
            row=image,
            folder=folder,
            png=result.png,
            variants=result.variants,
            look=result.look,
        )
        return image_id, None

    def _existing_thumbnail_folder(self, name: str) -> str | None:
        """Folder of a thumbnail already on disk with no row (a rebuilt database)."""
        if not self.thumbs_indexed:
            self._index_thumbs()
        row = self.db.execute("SELECT folder FROM temp.on_disk WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def _index_thumbs(self) -> None:
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS on_disk (name TEXT PRIMARY KEY, folder TEXT)"
        )
        rows = ((name, folder) for folder, name in iter_thumbnail_files(self.where.thumbs))
        self.db.conn.executemany("INSERT OR IGNORE INTO temp.on_disk VALUES (?, ?)", rows)
        self.thumbs_indexed = True

    def _commit(self) -> None:
        refresh_tags_column(self.db, sorted(self.touched))
        self.touched.clear()
        self.db.commit()
        begin_immediate(self.db)
        self.pending = 0
        self.last_commit = time.monotonic()

    def finish(self) -> IngestSummary:
        """Mark vanished files, commit, and count."""
        now = utc_now()
        self.db.execute(
            "UPDATE files SET missing_since = ? WHERE missing_since IS NULL"
            " AND path NOT IN (SELECT path FROM temp.seen)",
            [now],
        )
        self.db.execute(
            "UPDATE files SET missing_since = NULL WHERE missing_since IS NOT NULL"
            " AND path IN (SELECT path FROM temp.seen)"
        )
        refresh_tags_column(self.db, sorted(self.touched))
        self.db.commit()
        summary = self.summary
        summary.images = self.db["images"].count
        summary.new_images = summary.images - self.images_before
        summary.tags = self.db.execute("SELECT count(DISTINCT tag) FROM image_tags").fetchone()[0]
        summary.missing = self.db.execute(
            "SELECT count(*) FROM files WHERE missing_since IS NOT NULL"
        ).fetchone()[0]
        return summary
