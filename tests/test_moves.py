"""Moving thumbnails is all or nothing: rows and files change together."""

import sqlite3

import pytest

from ingest import errors
from ingest.errors import UnknownPicture
from ingest.moves import move_thumbnails
from ingest.pipeline import ingest
from ingest.store import open_database

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
