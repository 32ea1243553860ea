"""The database schema, built by numbered, append-only migrations.

Each CREATE statement keeps its comments: SQLite stores the text as written,
so Datasette's schema view documents every column.
"""

from __future__ import annotations

import json

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from .tags import EARLIER, FACETED, refresh_tags_column, tags_from_path

migrations = Migrations("cattags")

M001_TABLES = [
    """
CREATE TABLE images (
    id TEXT PRIMARY KEY,             -- "{width}x{height}_{whash}": the thumbnail's identity and name
    width INTEGER NOT NULL,          -- width of the source picture, pixels
    height INTEGER NOT NULL,         -- height of the source picture, pixels
    size TEXT NOT NULL,              -- "{width}x{height}", also a tag
    whash TEXT NOT NULL,             -- wavelet hash, 16 hex digits, = str(imagehash.whash(img))
    whash_int INTEGER NOT NULL,      -- the same 64 bits as a signed integer, for fast hamming()
    phash TEXT,                      -- perceptual (DCT) hash, 16 hex digits
    phash_int INTEGER,               -- phash as a signed 64-bit integer
    dhash TEXT,                      -- difference hash, 16 hex digits
    dhash_int INTEGER,               -- dhash as a signed 64-bit integer
    format TEXT,                     -- Pillow's format name, e.g. JPEG
    format_description TEXT,         -- Pillow's longer format name
    mode TEXT,                       -- Pillow mode of the source, e.g. RGB, P, I;16
    bands TEXT,                      -- JSON array of band names
    extrema TEXT,                    -- JSON: the minimum and maximum of each band
    xmp TEXT,                        -- JSON of the XMP packet, or null
    thumb_width INTEGER,             -- width of the thumbnail, pixels
    thumb_height INTEGER,            -- height of the thumbnail, pixels
    folder TEXT NOT NULL DEFAULT '', -- where the thumbnail lives, relative to the thumbnails root
    tags TEXT NOT NULL DEFAULT '[]', -- JSON array of tags, kept in step with image_tags
    nearest_id TEXT,                 -- the nearest other picture by whash
    nearest_distance INTEGER,        -- Hamming distance to nearest_id
    cluster INTEGER                  -- connected component of near-duplicate pairs
)""",
    """
CREATE TABLE thumbnails (
    image_id TEXT PRIMARY KEY REFERENCES images(id), -- the picture
    png BLOB NOT NULL,               -- the exact bytes of the thumbnail file, text chunks included
    sha256 TEXT NOT NULL             -- checksum of png: a strong ETag and a cache-busting version
)""",
    """
CREATE TABLE files (
    path TEXT PRIMARY KEY,           -- source file, relative to the source root
    image_id TEXT REFERENCES images(id), -- its picture; NULL while the file cannot be read
    bytes INTEGER,                   -- file size
    mtime INTEGER,                   -- modification time, nanoseconds since the epoch
    sha256 TEXT,                     -- checksum of the file's bytes
    missing_since TEXT               -- when a run first found the file gone; NULL while present
)""",
    """
CREATE TABLE image_tags (
    image_id TEXT NOT NULL REFERENCES images(id), -- the picture
    tag TEXT NOT NULL,               -- a folder name or the size
    origin TEXT NOT NULL CHECK (origin IN ('folder', 'source', 'size', 'manual')),
                                     -- thumbnail folder, source folder, size or by hand
    PRIMARY KEY (image_id, tag)
)""",
    """
CREATE TABLE pairs (
    image_a TEXT NOT NULL REFERENCES images(id), -- the smaller id of the two
    image_b TEXT NOT NULL REFERENCES images(id), -- the larger id of the two
    algorithm TEXT NOT NULL,         -- what distance measures, e.g. whash or phash+dhash
    distance INTEGER NOT NULL,       -- Hamming distance under that algorithm
    near_duplicate INTEGER NOT NULL DEFAULT 0, -- 1 when the near-duplicate rule joined them
    rule TEXT,                       -- the rule that decided, e.g. phash+dhash<=18
    PRIMARY KEY (image_a, image_b, algorithm),
    CHECK (image_a < image_b)
)""",
    """
CREATE TABLE moves (
    id INTEGER PRIMARY KEY,          -- order of the moves
    image_id TEXT NOT NULL REFERENCES images(id), -- the picture moved
    from_folder TEXT NOT NULL,       -- folder before, relative to the thumbnails root
    to_folder TEXT NOT NULL,         -- folder after
    actor TEXT,                      -- who moved it: a Datasette actor id, or the command
    at TEXT NOT NULL                 -- when, UTC ISO 8601
)""",
    """
CREATE TABLE errors (
    id INTEGER PRIMARY KEY,          -- order of the records
    path TEXT NOT NULL,              -- the file, relative to its root
    stage TEXT NOT NULL,             -- scan, read, decode, analyse or write
    error TEXT NOT NULL,             -- what went wrong, in plain words
    at TEXT NOT NULL                 -- when, UTC ISO 8601
)""",
    """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,            -- setting name
    value TEXT                       -- its value, as text
)""",
]

M001_INDEXES = [
    "CREATE INDEX images_folder ON images(folder)",
    "CREATE INDEX images_size ON images(size)",
    "CREATE INDEX images_whash_int ON images(whash_int)",
    "CREATE INDEX images_nearest_distance ON images(nearest_distance)",
    "CREATE INDEX images_cluster ON images(cluster)",
    "CREATE INDEX files_image_id ON files(image_id)",
    "CREATE INDEX image_tags_tag ON image_tags(tag, image_id)",
    "CREATE INDEX pairs_image_b ON pairs(image_b, image_a)",
    "CREATE INDEX moves_image_id ON moves(image_id)",
    "CREATE INDEX errors_path ON errors(path)",
]


@migrations()
def m001_initial(db: Database) -> None:
    """Every table of DESIGN.md, with its indexes."""
    for statement in M001_TABLES + M001_INDEXES:
        db.execute(statement)


@migrations()
def m002_neighbours(db: Database) -> None:
    """Each picture's own ranked nearest neighbours (pairs holds their union)."""
    db.execute(
        """
CREATE TABLE neighbours (
    image_id TEXT NOT NULL REFERENCES images(id),    -- the picture
    rank INTEGER NOT NULL,           -- 0 is the nearest; ties broken by id
    neighbour_id TEXT NOT NULL REFERENCES images(id), -- a near picture
    distance INTEGER NOT NULL,       -- whash Hamming distance
    PRIMARY KEY (image_id, rank)
)"""
    )
    db.execute("CREATE INDEX neighbours_neighbour_id ON neighbours(neighbour_id)")


@migrations()
def m003_thumbnail_version(db: Database) -> None:
    """images.thumbnail: the PNG's sha256, so pages can build versioned thumbnail URLs."""
    db.execute(
        "ALTER TABLE images ADD COLUMN thumbnail TEXT"
        " /* sha256 of the thumbnail PNG: its version in cache-friendly URLs */"
    )
    db.execute(
        "UPDATE images SET thumbnail = (SELECT sha256 FROM thumbnails WHERE image_id = images.id)"
    )


@migrations()
def m004_move_batches(db: Database) -> None:
    """moves.batch: the moves made by one action, undone together."""
    db.execute("ALTER TABLE moves ADD COLUMN batch INTEGER /* moves made by one action share it */")
    db.execute("UPDATE moves SET batch = id")
    db.execute("CREATE INDEX moves_batch ON moves(batch)")


@migrations()
def m005_raw_paths(db: Database) -> None:
    """files.raw_path: the exact bytes of a file name that is not UTF-8."""
    db.execute(
        "ALTER TABLE files ADD COLUMN raw_path BLOB"
        " /* the exact bytes of path when they are not UTF-8 (path then shows them as \\xNN) */"
    )


@migrations()
def m006_undo_history(db: Database) -> None:
    """moves.undone_by and moves.tags_added: undo reverses an actor's latest move
    not yet undone, and takes back the tags that move added."""
    db.execute(
        "ALTER TABLE moves ADD COLUMN undone_by INTEGER"
        " /* batch of the undo that reversed this move; NULL while it stands */"
    )
    db.execute(
        "ALTER TABLE moves ADD COLUMN tags_added TEXT"
        " /* JSON array of the tags this move gave the picture; its undo removes them */"
    )
    db.execute("CREATE INDEX moves_actor_batch ON moves(actor, batch)")


@migrations()
def m007_tag_origin_index(db: Database) -> None:
    """Tags by origin from the index alone: the gallery's tag facet leaves size tags out."""
    db.execute("CREATE INDEX image_tags_tag_origin ON image_tags(tag, origin)")


@migrations()
def m008_decisions(db: Database) -> None:
    """Decisions about near-duplicate pairs, which no rule change overrides."""
    db.execute(
        """
CREATE TABLE decisions (
    image_a TEXT NOT NULL REFERENCES images(id), -- the smaller id of the two
    image_b TEXT NOT NULL REFERENCES images(id), -- the larger id of the two
    decision TEXT NOT NULL CHECK (decision IN ('different', 'same')),
                                     -- never a near-duplicate pair, or always one
    actor TEXT,                      -- who decided: a Datasette actor id, or the command
    at TEXT NOT NULL,                -- when, UTC ISO 8601
    PRIMARY KEY (image_a, image_b),
    CHECK (image_a < image_b)
)"""
    )


@migrations()
def m009_variant_hashes(db: Database) -> None:
    """The hashes of each picture's turned, mirrored and cropped variants, so
    that copies turned, mirrored or cropped are found as near-duplicates."""
    db.execute(
        """
CREATE TABLE variant_hashes (
    image_id TEXT PRIMARY KEY REFERENCES images(id), -- the picture
    hashes BLOB NOT NULL             -- whash, phash, dhash of each variant (7 turns, then
                                     -- 4 crops), little-endian unsigned 64-bit, 24 bytes each
)"""
    )


@migrations()
def m010_flat_pictures(db: Database) -> None:
    """images.flat: pictures of one colour, which have no detail to compare
    and are never near-duplicates (they all hash alike)."""
    from .core import is_flat

    db.execute(
        "ALTER TABLE images ADD COLUMN flat INTEGER"
        " /* 1: every pixel the same colour (no detail): never a near-duplicate */"
        " NOT NULL DEFAULT 0"
    )
    flat = [
        (image_id,)
        for image_id, extrema in db.execute("SELECT id, extrema FROM images").fetchall()
        if is_flat(json.loads(extrema) if extrema else None)
    ]
    db.conn.executemany("UPDATE images SET flat = 1 WHERE id = ?", flat)


@migrations()
def m011_looks(db: Database) -> None:
    """How each picture looks (ingest/looks.py), and look-alike groups."""
    db.execute(
        """
CREATE TABLE looks (
    image_id TEXT PRIMARY KEY REFERENCES images(id), -- the picture
    look BLOB NOT NULL               -- colour, subject, layout, texture: LOOK_BYTES (looks.py)
)"""
    )
    db.execute(
        """
CREATE TABLE look_groups (
    look INTEGER PRIMARY KEY,        -- the group, as in images.look
    pictures INTEGER NOT NULL,       -- how many pictures it holds
    centre BLOB NOT NULL,            -- its mean look (a float32 a byte): new pictures join the nearest
    position INTEGER NOT NULL,       -- its place in the look order: similar groups are neighbours
    strip TEXT                       -- JSON array of the ids of the few pictures nearest its centre
)"""
    )
    db.execute(
        "ALTER TABLE images ADD COLUMN look INTEGER"
        " /* look-alike group (look_groups); NULL for a picture of one colour or not yet grouped */"
    )
    db.execute(
        "ALTER TABLE images ADD COLUMN look_order INTEGER"
        " /* place in an order that puts look-alikes next to each other: ?_sort=look_order */"
    )
    db.execute("CREATE INDEX images_look ON images(look)")
    db.execute("CREATE INDEX images_look_order ON images(look_order)")


@migrations()
def m012_capture_time(db: Database) -> None:
    """When each picture was taken (EXIF), and events: runs of pictures taken
    close together (ingest/taken.py)."""
    db.execute(
        "ALTER TABLE images ADD COLUMN taken TEXT"
        " /* EXIF DateTimeOriginal (else DateTime), ISO 8601, with its offset when known */"
    )
    db.execute(
        "ALTER TABLE images ADD COLUMN event INTEGER"
        " /* pictures taken with no gap over 3 hours between them share it; NULL: no date */"
    )
    db.execute("CREATE INDEX images_taken ON images(taken)")
    db.execute("CREATE INDEX images_event ON images(event)")


@migrations()
def m013_earlier_folders(db: Database) -> None:
    """Tags of a folder a picture left stay, with the origin "earlier folder",
    no longer current (ingest/tags.py); moves log the origins they change."""

    # SQLite cannot change a CHECK constraint in place: the table is rebuilt.
    db.execute("ALTER TABLE image_tags RENAME TO image_tags_before_m013")
    db.execute(
        """
CREATE TABLE image_tags (
    image_id TEXT NOT NULL REFERENCES images(id), -- the picture
    tag TEXT NOT NULL,               -- a folder name or the size
    origin TEXT NOT NULL CHECK (origin IN ('folder', 'source', 'size', 'manual', 'earlier folder')),
                                     -- thumbnail folder, source folder, size, by hand, or a
                                     -- folder the picture has left (then not a current tag)
    PRIMARY KEY (image_id, tag)
)"""
    )
    db.execute("INSERT INTO image_tags SELECT image_id, tag, origin FROM image_tags_before_m013")
    db.execute("DROP TABLE image_tags_before_m013")
    # One index serves `tag = ?` (the core `_through`), current tags by tag
    # (`?_tag=`) and the tag facet, each from the index alone.
    db.execute("CREATE INDEX image_tags_tag ON image_tags(tag, origin, image_id)")
    db.execute(
        "ALTER TABLE moves ADD COLUMN tags_changed TEXT"
        " /* JSON object: tag -> its origin before this move changed it; its undo restores them */"
    )
    # Pictures moved before kept every folder's tags as current: no longer.
    moved = db.execute(
        "SELECT id, folder FROM images WHERE id IN (SELECT image_id FROM moves)"
    ).fetchall()
    for image_id, folder in moved:
        here = tags_from_path(folder)
        marks = ",".join("?" * len(here))
        db.execute(
            "UPDATE image_tags SET origin = ? WHERE image_id = ?"
            f" AND origin = 'folder' AND tag NOT IN ({marks})",
            [EARLIER, image_id, *here],
        )
    refresh_tags_column(db, [image_id for image_id, _ in moved])


COUNTED = ("folder", "look", "event", "cluster", "nearest_distance")  # images columns counted


def plus_one(column: str) -> str:
    return (
        f"INSERT INTO counts (facet, value, count) SELECT '{column}', NEW.{column}, 1"
        f" WHERE NEW.{column} IS NOT NULL ON CONFLICT (facet, value) DO UPDATE SET count = count + 1;"
    )


def minus_one(column: str) -> str:
    return f"UPDATE counts SET count = count - 1 WHERE facet = '{column}' AND value = OLD.{column};"


# Triggers that keep `counts` in step with the images columns: one for a new
# picture, one for a deleted one, one for each column that changes.
COUNTING_TRIGGERS = [
    "CREATE TRIGGER images_count_insert AFTER INSERT ON images BEGIN "
    + " ".join(plus_one(column) for column in COUNTED)
    + " END",
    "CREATE TRIGGER images_count_delete AFTER DELETE ON images BEGIN "
    + " ".join(minus_one(column) for column in COUNTED)
    + " END",
    *(
        f"CREATE TRIGGER images_count_{column} AFTER UPDATE OF {column} ON images"
        f" WHEN OLD.{column} IS NOT NEW.{column} BEGIN {minus_one(column)} {plus_one(column)} END"
        for column in COUNTED
    ),
]
TAG_TRIGGERS = [
    f"""CREATE TRIGGER image_tags_count_insert AFTER INSERT ON image_tags
    WHEN NEW.{FACETED} BEGIN
    INSERT INTO counts (facet, value, count) VALUES ('tag', NEW.tag, 1)
    ON CONFLICT (facet, value) DO UPDATE SET count = count + 1; END""",
    f"""CREATE TRIGGER image_tags_count_delete AFTER DELETE ON image_tags
    WHEN OLD.{FACETED} BEGIN
    UPDATE counts SET count = count - 1 WHERE facet = 'tag' AND value = OLD.tag; END""",
    f"""CREATE TRIGGER image_tags_count_update AFTER UPDATE OF origin, tag ON image_tags BEGIN
    UPDATE counts SET count = count - 1 WHERE facet = 'tag' AND value = OLD.tag
    AND OLD.{FACETED};
    INSERT INTO counts (facet, value, count) SELECT 'tag', NEW.tag, 1 WHERE NEW.{FACETED}
    ON CONFLICT (facet, value) DO UPDATE SET count = count + 1; END""",
]


@migrations()
def m014_counts(db: Database) -> None:
    """How many pictures have each folder, look-alike group, event, cluster,
    nearest distance and current tag, kept by triggers in the same
    transaction as every change: the unfiltered gallery's facets read a few
    rows instead of counting a million pictures."""
    db.execute(
        """
CREATE TABLE counts (
    facet TEXT NOT NULL,             -- an images column (folder, look, event, cluster,
                                     -- nearest_distance), or tag: current tags, sizes left out
    value NOT NULL,                  -- one of its values
    count INTEGER NOT NULL,          -- pictures with that value now (0 once none is left)
    PRIMARY KEY (facet, value)
)"""
    )
    for column in COUNTED:
        db.execute(
            f"INSERT INTO counts (facet, value, count) SELECT '{column}', {column}, count(*)"
            f" FROM images WHERE {column} IS NOT NULL GROUP BY {column}"
        )
    db.execute(
        "INSERT INTO counts (facet, value, count) SELECT 'tag', tag, count(*) FROM image_tags"
        f" WHERE {FACETED} GROUP BY tag"
    )
    for trigger in COUNTING_TRIGGERS + TAG_TRIGGERS:
        db.execute(trigger)


FILE_COLUMNS = {  # each file's own reading, beside its picture's (files of one picture can differ)
    "format": "Pillow's format name of this file, e.g. JPEG",
    "mode": "Pillow mode of this file, e.g. RGB or L",
    "whash": "this file's wavelet hash, 16 hex digits (its picture's id holds the first file's)",
    "phash": "this file's perceptual (DCT) hash",
    "dhash": "this file's difference hash",
}


@migrations()
def m015_file_duplicates(db: Database) -> None:
    """Each file's own format, mode and hashes, so that files merged into one
    picture can be told apart; and the file a person keeps of a set of
    copies (`cattags duplicates --redundant` lists the others)."""
    for column, meaning in FILE_COLUMNS.items():
        db.execute(f"ALTER TABLE files ADD COLUMN {column} TEXT /* {meaning} */")
    # A picture's only file is read as the picture was; files of pictures
    # with several keep NULL, and the next ingest reads them once more.
    db.execute(
        "UPDATE files SET (format, mode, whash, phash, dhash) ="
        " (SELECT format, mode, whash, phash, dhash FROM images WHERE id = files.image_id)"
        " WHERE image_id IN"
        " (SELECT image_id FROM files GROUP BY image_id HAVING count(*) = 1)"
    )
    db.execute(
        """
CREATE TABLE kept_files (
    path TEXT PRIMARY KEY,           -- a source file (files.path) a person keeps of its copies
    actor TEXT,                      -- who decided: a Datasette actor id, or the command
    at TEXT NOT NULL                 -- when, UTC ISO 8601
)"""
    )


@migrations()
def m016_file_variants(db: Database) -> None:
    """files.variants: the variant hashes of a file whose own hashes differ
    from its picture's (the picture's are the first file's), so near-duplicate
    pairs come from every file, whatever the order they were read in. Such
    files stored before are read once more on the next ingest. And an index
    of present files by picture, for listing duplicates."""
    db.execute(
        "ALTER TABLE files ADD COLUMN variants BLOB"
        " /* packed like variant_hashes.hashes when this file's own hashes differ from its"
        " picture's; NULL: its picture's are its own */"
    )
    # The pictures with several present files, from the index alone.
    db.execute("CREATE INDEX files_present ON files(image_id) WHERE missing_since IS NULL")
    db.execute(
        "UPDATE files SET whash = NULL WHERE whash IS NOT NULL AND EXISTS (SELECT 1 FROM images i"
        " WHERE i.id = files.image_id AND (i.phash IS NOT files.phash OR i.dhash IS NOT files.dhash))"
    )


def ensure_schema(db: Database) -> None:
    """Apply pending migrations; safe to call on every open."""
    migrations.apply(db)
