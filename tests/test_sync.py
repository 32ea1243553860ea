"""`cattags sync` after thumbnails were moved, deleted or orphaned on disk."""

import json
import os
import shutil
import subprocess
import sys

from click.testing import CliRunner

from ingest.cli import cli
from ingest.library import open_database
from ingest.pipeline import ingest
from ingest.sync import SYNC_ACTOR, sync_thumbnails

from .conftest import rows


def test_moves_made_in_a_file_manager_update_folder_tags_and_the_log(cats):
    ingest(cats, workers=1)
    db = cats / "cats.db"
    image_id = rows(db, "select id from images order by id limit 1")[0][0]
    target = cats / "thumbs" / "best" / "2019" / "sleepy"
    target.mkdir(parents=True)
    shutil.move(cats / "thumbs" / f"{image_id}_.png", target / f"{image_id}_.png")
    report = sync_thumbnails(open_database(db))
    assert report.moved == [(image_id, "", "best/2019/sleepy")]
    assert rows(db, "select folder from images where id = ?", [image_id]) == [("best/2019/sleepy",)]
    tags = json.loads(rows(db, "select tags from images where id = ?", [image_id])[0][0])
    assert {"best", "sleepy"} <= set(tags) and "2019" not in tags
    assert rows(db, "select image_id, from_folder, to_folder, actor from moves") == [
        (image_id, "", "best/2019/sleepy", SYNC_ACTOR)
    ]
    # Moving back home: the folder's tags stay, as tags of an earlier folder.
    shutil.move(target / f"{image_id}_.png", cats / "thumbs" / f"{image_id}_.png")
    sync_thumbnails(open_database(db))
    tags = json.loads(rows(db, "select tags from images where id = ?", [image_id])[0][0])
    assert not {"best", "sleepy"} & set(tags)
    earlier = "select tag from image_tags where image_id = ? and origin = 'earlier folder'"
    assert sorted(rows(db, earlier, [image_id])) == [("best",), ("sleepy",)]
    assert rows(db, "select count(*) from moves")[0][0] == 2


def test_a_second_sync_changes_nothing(cats):
    ingest(cats, workers=1)
    db = open_database(cats / "cats.db")
    sync_thumbnails(db)
    report = sync_thumbnails(db)
    assert report.moved == [] and report.recreated == [] and report.missing == []
    assert report.thumbnails == rows(cats / "cats.db", "select count(*) from images")[0][0]


def test_a_thumbnail_without_a_row_is_recreated_from_its_png(cats):
    ingest(cats, workers=1)
    db_path = cats / "cats.db"
    image_id, before = rows(
        db_path,
        "select id, json_object('w', width, 'h', height, 'whash', whash,"
        " 'phash', phash, 'dhash', dhash, 'format', format, 'mode', mode,"
        " 'extrema', extrema, 'bands', bands) from images order by id limit 1",
    )[0]
    db = open_database(db_path)
    for table, column in (("image_tags", "image_id"), ("thumbnails", "image_id"), ("images", "id")):
        db.execute(f"delete from {table} where {column} = ?", [image_id])
    report = sync_thumbnails(db)
    assert report.recreated == [f"{image_id}_.png"]
    after = rows(
        db_path,
        "select json_object('w', width, 'h', height, 'whash', whash,"
        " 'phash', phash, 'dhash', dhash, 'format', format, 'mode', mode,"
        " 'extrema', extrema, 'bands', bands) from images where id = ?",
        [image_id],
    )[0][0]
    assert json.loads(after) == json.loads(before)


def test_a_png_that_is_not_ours_is_reported_not_imported(cats):
    ingest(cats, workers=1)
    name = "10x10_0123456789abcdef_.png"
    from PIL import Image

    Image.new("RGB", (10, 10)).save(cats / "thumbs" / name)
    report = sync_thumbnails(open_database(cats / "cats.db"))
    assert report.unknown == [name]


def test_missing_thumbnails_are_reported_and_restored_on_request(cats):
    ingest(cats, workers=1)
    db_path = cats / "cats.db"
    image_id = rows(db_path, "select id from images order by id limit 1")[0][0]
    (cats / "thumbs" / f"{image_id}_.png").unlink()
    runner = CliRunner()
    result = runner.invoke(cli, ["sync", "--db", str(db_path)])
    assert result.exit_code == 0
    assert f"thumbnail missing: {image_id}" in result.output
    result = runner.invoke(cli, ["sync", "--db", str(db_path), "--restore"])
    assert "1 restored" in result.output
    png = rows(db_path, "select png from thumbnails where image_id = ?", [image_id])[0][0]
    assert (cats / "thumbs" / f"{image_id}_.png").read_bytes() == png


def test_sync_on_a_database_ingest_never_built_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(cli, ["sync", "--db", str(tmp_path / "nothing.db")])
    assert result.exit_code == 1 and "no database" in result.output
    open_database(tmp_path / "blank.db").close()
    result = CliRunner().invoke(cli, ["sync", "--db", str(tmp_path / "blank.db")])
    assert result.exit_code == 1 and "run `cattags ingest` first" in result.output
    assert "Traceback" not in result.output


def test_what_cannot_be_a_thumbnail_is_recorded_and_skipped_never_blocking(cats):
    """A bomb named like a thumbnail, a pipe named like one, a folder whose name
    is not UTF-8: each recorded in errors; sync finishes (a pipe is never opened)."""
    from .test_bad_files import png_header_only

    ingest(cats, workers=1)
    thumbs = cats / "thumbs"
    (thumbs / "20000x20000_0123456789abcdef_.png").write_bytes(png_header_only(20_000, 20_000))
    (thumbs / "3000x3000_0123456789abcdef_.png").write_bytes(png_header_only(3000, 3000))
    os.mkfifo(thumbs / "10x10_fedcba9876543210_.png")
    os.mkdir(os.path.join(os.fsencode(thumbs), b"caf\xe9"))
    result = subprocess.run(
        [sys.executable, "-m", "ingest", "sync", "--db", str(cats / "cats.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    recorded = dict(rows(cats / "cats.db", "select path, error from errors where stage = 'sync'"))
    assert "decompression bomb" in recorded["20000x20000_0123456789abcdef_.png"]
    assert "too large for a thumbnail" in recorded["3000x3000_0123456789abcdef_.png"]
    assert "not a regular file" in recorded["10x10_fedcba9876543210_.png"]
    assert "not UTF-8" in recorded["caf\\xe9"]
    assert "skipped: caf\\xe9 (folder name is not UTF-8" in result.stdout
