"""A blank database migrates to exactly the documented schema, idempotently."""

import re
import sqlite3

from ingest.library import open_database
from ingest.schema import migrations

EXPECTED_COLUMNS = {
    "images": [
        "id",
        "width",
        "height",
        "size",
        "whash",
        "whash_int",
        "phash",
        "phash_int",
        "dhash",
        "dhash_int",
        "format",
        "format_description",
        "mode",
        "bands",
        "extrema",
        "xmp",
        "thumb_width",
        "thumb_height",
        "folder",
        "tags",
        "nearest_id",
        "nearest_distance",
        "cluster",
        "thumbnail",
        "flat",
        "look",
        "look_order",
        "taken",
        "event",
    ],
    "neighbours": ["image_id", "rank", "neighbour_id", "distance"],
    "thumbnails": ["image_id", "png", "sha256"],
    "files": [
        "path",
        "image_id",
        "bytes",
        "mtime",
        "sha256",
        "missing_since",
        "raw_path",
        "format",
        "mode",
        "whash",
        "phash",
        "dhash",
        "variants",
    ],
    "image_tags": ["image_id", "tag", "origin"],
    "pairs": ["image_a", "image_b", "algorithm", "distance", "near_duplicate", "rule"],
    "moves": [
        "id",
        "image_id",
        "from_folder",
        "to_folder",
        "actor",
        "at",
        "batch",
        "undone_by",
        "tags_added",
        "tags_changed",
    ],
    "errors": ["id", "path", "stage", "error", "at"],
    "settings": ["key", "value"],
    "decisions": ["image_a", "image_b", "decision", "actor", "at"],
    "variant_hashes": ["image_id", "hashes"],
    "looks": ["image_id", "look"],
    "look_groups": ["look", "pictures", "centre", "position", "strip"],
    "counts": ["facet", "value", "count"],
    "kept_files": ["path", "actor", "at"],
}
# Index name, its table, its columns (comma-separated).
INDEX_TABLE = """
images_folder             images      folder
images_size               images      size
images_whash_int          images      whash_int
images_nearest_distance   images      nearest_distance
images_cluster            images      cluster
files_image_id            files       image_id
image_tags_tag            image_tags  tag,origin,image_id
pairs_image_b             pairs       image_b,image_a
moves_image_id            moves       image_id
errors_path               errors      path
neighbours_neighbour_id   neighbours  neighbour_id
moves_batch               moves       batch
moves_actor_batch         moves       actor,batch
images_look               images      look
images_look_order         images      look_order
images_taken              images      taken
images_event              images      event
files_present             files       image_id
"""
EXPECTED_INDEXES = {
    name: (table, columns.split(","))
    for name, table, columns in (line.split() for line in INDEX_TABLE.strip().splitlines())
}
PRIMARY_KEYS = {
    "images": ["id"],
    "thumbnails": ["image_id"],
    "files": ["path"],
    "image_tags": ["image_id", "tag"],
    "pairs": ["image_a", "image_b", "algorithm"],
    "moves": ["id"],
    "errors": ["id"],
    "settings": ["key"],
    "neighbours": ["image_id", "rank"],
    "decisions": ["image_a", "image_b"],
    "variant_hashes": ["image_id"],
    "counts": ["facet", "value"],
    "looks": ["image_id"],
    "look_groups": ["look"],
    "kept_files": ["path"],
}


def schema_dump(path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("select type, name, sql from sqlite_master order by name").fetchall()
    finally:
        conn.close()


def test_blank_database_gets_every_table_column_index_and_key(tmp_path):
    db = open_database(tmp_path / "blank.db")
    tables = set(db.table_names()) - {"_sqlite_migrations"}
    assert tables == set(EXPECTED_COLUMNS)
    for table, columns in EXPECTED_COLUMNS.items():
        assert [c.name for c in db[table].columns] == columns, table
        assert db[table].pks == PRIMARY_KEYS[table], table
    found = {}
    for table in EXPECTED_COLUMNS:
        for index in db[table].indexes:
            if not index.name.startswith("sqlite_autoindex"):
                found[index.name] = (table, index.columns)
    assert found == EXPECTED_INDEXES


def test_every_column_has_a_comment_in_its_create_statement(tmp_path):
    db = open_database(tmp_path / "blank.db")
    for table, columns in EXPECTED_COLUMNS.items():
        sql = db[table].schema
        for column in columns:
            # Added by ALTER TABLE: "column TYPE /* comment */", several on a line.
            if re.search(rf"[ ,]{column} \w+ /\*", sql):
                continue
            line = next(
                x for x in sql.splitlines() if x.strip().lstrip(", ").startswith(column + " ")
            )
            following = sql.split(line, 1)[1].splitlines()[1:2]
            commented = "--" in line or any("--" in f for f in following)
            assert commented, (table, column)


def test_migrating_twice_changes_nothing(tmp_path):
    path = tmp_path / "twice.db"
    open_database(path).close()
    before = schema_dump(path)
    db = open_database(path)
    assert migrations.pending(db) == []
    db.close()
    assert schema_dump(path) == before


def test_tag_origin_is_checked(tmp_path):
    db = open_database(tmp_path / "x.db")
    db.execute(
        "insert into images (id, width, height, size, whash, whash_int) values ('a', 1, 1, '1x1', '0', 0)"
    )
    try:
        db.execute("insert into image_tags values ('a', 't', 'whatever')")
    except sqlite3.IntegrityError:
        return
    raise AssertionError("an unknown origin was accepted")
