"""Moving thumbnails is all or nothing: rows and files change together."""

import json
import sqlite3

import pytest
from sqlite_utils import Database

from ingest import errors
from ingest.errors import UnknownPicture
from ingest.library import open_database
from ingest.lookgroups import save_looks
from ingest.moves import move_thumbnails, undo
from ingest.pipeline import ingest
from ingest.schema import migrations
from ingest.tags import EARLIER

from .conftest import rows, tmpfs


@pytest.fixture
def library(cats):
    ingest(cats, workers=1)
    return cats / "cats.db", cats / "thumbs"


def test_a_failed_rename_changes_no_row_and_puts_earlier_files_back(library):
    db_path, thumbs = library
    first, second = [i for (i,) in rows(db_path, "select id from images order by id limit 2")]
    # The second picture cannot land: its folder is another file system, and
    # a rename does not cross file systems (checks before the move cannot know).
    with tmpfs(thumbs / "other", "size=1m"):
        db = open_database(db_path)
        with pytest.raises(OSError):
            move_thumbnails(db, thumbs, [(first, "keep"), (second, "other")], "tester")
    assert (thumbs / f"{first}_.png").is_file() and (thumbs / f"{second}_.png").is_file()
    assert not (thumbs / "keep" / f"{first}_.png").exists()
    assert rows(db_path, "select count(*) from moves") == [(0,)]
    assert rows(db_path, "select count(*) from images where folder != ''") == [(0,)]
    assert rows(db_path, "select count(*) from image_tags where tag = 'keep'") == [(0,)]


def test_a_folder_in_the_way_is_refused_before_anything_moves(library):
    db_path, thumbs = library
    first, second = [i for (i,) in rows(db_path, "select id from images order by id limit 2")]
    (thumbs / "keep" / f"{second}_.png").mkdir(parents=True)
    db = open_database(db_path)
    with pytest.raises(getattr(errors, "FileInTheWay", ())):
        move_thumbnails(db, thumbs, [(first, "keep"), (second, "keep")], "tester")
    assert (thumbs / f"{first}_.png").is_file() and (thumbs / f"{second}_.png").is_file()
    assert rows(db_path, "select count(*) from moves") == [(0,)]


def test_a_failed_commit_puts_the_files_back(library):
    db_path, thumbs = library
    image_id = rows(db_path, "select id from images order by id limit 1")[0][0]
    db = open_database(db_path)
    # A real commit failure: a foreign key violation only checked at COMMIT.
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA defer_foreign_keys = ON")
    db.execute(
        "CREATE TEMP TRIGGER break_commit AFTER INSERT ON moves BEGIN"
        " INSERT INTO image_tags VALUES ('no-such-image', 'x', 'manual'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        move_thumbnails(db, thumbs, [(image_id, "keep")], "tester")
    assert (thumbs / f"{image_id}_.png").is_file()
    assert not (thumbs / "keep" / f"{image_id}_.png").exists()
    assert rows(db_path, "select count(*) from moves") == [(0,)]
    assert rows(db_path, "select folder from images where id = ?", [image_id]) == [("",)]


def test_unknown_picture_is_refused_before_anything_moves(library):
    db_path, thumbs = library
    image_id = rows(db_path, "select id from images limit 1")[0][0]
    with pytest.raises(UnknownPicture, match="1x1_00"):
        move_thumbnails(open_database(db_path), thumbs, [(image_id, "a"), ("1x1_00", "a")], "t")
    assert (thumbs / f"{image_id}_.png").is_file()


def tag_rows(db_path, image_id):
    return sorted(
        rows(db_path, "select tag, origin from image_tags where image_id = ?", [image_id])
    )


def current_tags(db_path, image_id):
    return json.loads(rows(db_path, "select tags from images where id = ?", [image_id])[0][0])


def test_a_second_move_leaves_the_first_folders_tags_as_earlier_ones(library):
    db_path, thumbs = library
    (first,) = rows(db_path, "select id from images order by id limit 1")[0]
    db = open_database(db_path)
    move_thumbnails(db, thumbs, [(first, "black/2024/young")], "tester")
    assert {"black", "young"} <= set(current_tags(db_path, first))
    move_thumbnails(db, thumbs, [(first, "white")], "tester")
    now = current_tags(db_path, first)
    assert "white" in now and not {"black", "young"} & set(now)
    # The table only grows: the tags of the folder it left stay, told apart.
    table = dict(tag_rows(db_path, first))
    assert table["black"] == table["young"] == EARLIER and table["white"] == "folder"
    # Back into a folder it had left: that folder's tags are current again.
    move_thumbnails(db, thumbs, [(first, "black")], "tester")
    table = dict(tag_rows(db_path, first))
    assert (table["black"], table["white"], table["young"]) == ("folder", EARLIER, EARLIER)
    assert "black" in current_tags(db_path, first) and "white" not in current_tags(db_path, first)


def test_undo_puts_every_tag_back_as_it_was(library):
    db_path, thumbs = library
    first, second = [i for (i,) in rows(db_path, "select id from images order by id limit 2")]
    db = open_database(db_path)
    states = [(tag_rows(db_path, first), tag_rows(db_path, second), current_tags(db_path, first))]
    for folder in ("black", "white/cosy", "black"):
        move_thumbnails(db, thumbs, [(first, folder), (second, folder)], "tester")
        states.append(
            (tag_rows(db_path, first), tag_rows(db_path, second), current_tags(db_path, first))
        )
    for expected in reversed(states[:-1]):
        undo(db, thumbs, "tester")
        now = (tag_rows(db_path, first), tag_rows(db_path, second), current_tags(db_path, first))
        assert now == expected


def test_a_library_moved_before_earlier_folders_gets_them_told_apart(tmp_path, cats):
    ingest(cats, workers=1)
    (first,) = rows(cats / "cats.db", "select id from images order by id limit 1")[0]
    old = tmp_path / "old.db"
    db = Database(old)
    migrations.apply(db, stop_before="m013_earlier_folders")
    # Before: a picture moved black -> white kept black as a current tag.
    db.execute(
        "INSERT INTO images (id, width, height, size, whash, whash_int, folder, tags)"
        " VALUES (?, 1, 1, '1x1', '0', 0, 'white', '[\"black\", \"white\"]')",
        [first],
    )
    db.execute(
        "INSERT INTO image_tags VALUES (?, 'black', 'folder'), (?, 'white', 'folder')",
        [first, first],
    )
    db.execute(
        "INSERT INTO moves (image_id, from_folder, to_folder, at) VALUES"
        " (?, '', 'black', 'then'), (?, 'black', 'white', 'then')",
        [first, first],
    )
    db.conn.commit()
    open_database(old)
    assert tag_rows(old, first) == [("black", EARLIER), ("white", "folder")]
    assert current_tags(old, first) == ["white"]


def counted(db_path) -> dict:
    """The counts table, as {(facet, value): count}, zeros left out."""
    return {(f, v): c for f, v, c in rows(db_path, "select facet, value, count from counts") if c}


def counted_afresh(db_path) -> dict:
    """The same counts, counted from the tables themselves."""
    fresh = {}
    for column in ("folder", "look", "event", "cluster", "nearest_distance"):
        sql = f"select {column}, count(*) from images where {column} is not null group by 1"
        fresh.update({(column, v): c for v, c in rows(db_path, sql)})
    sql = (
        "select tag, count(*) from image_tags"
        " where origin not in ('size', 'earlier folder') group by tag"
    )
    fresh.update({("tag", v): c for v, c in rows(db_path, sql)})
    return fresh


def test_the_counts_follow_ingest_moves_undo_and_regrouping(library):
    db_path, thumbs = library
    assert counted(db_path) == counted_afresh(db_path)
    some = [i for (i,) in rows(db_path, "select id from images order by id limit 6")]
    db = open_database(db_path)
    move_thumbnails(db, thumbs, [(i, "black/2024") for i in some], "tester")
    move_thumbnails(db, thumbs, [(i, "white") for i in some[:3]], "tester")
    assert counted(db_path) == counted_afresh(db_path)
    assert counted(db_path)[("folder", "white")] == 3
    undo(db, thumbs, "tester")
    assert counted(db_path) == counted_afresh(db_path)
    save_looks(db, regroup=True)
    db.execute("update images set cluster = null where rowid % 2 = 0")
    db.conn.commit()
    assert counted(db_path) == counted_afresh(db_path)
