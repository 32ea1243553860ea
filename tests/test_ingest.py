"""`cattags ingest` on the demo pictures: rows, thumbnails, tags, re-runs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import imagehash
from PIL import Image

from ingest.core import THUMBNAIL_NAME
from ingest.library import open_database
from ingest.pipeline import ingest
from ingest.sync import sync_thumbnails
from ingest.thumbnails import read_png_metadata

from .conftest import DEMO_COUNT, rows

PNG_KEYS = {
    "filename",
    "width",
    "height",
    "format",
    "format_description",
    "bands",
    "extremes",
    "xmp",
    "whash",
}


def db_of(cats: Path) -> Path:
    return cats / "cats.db"


def test_defaults_put_database_and_thumbnails_inside_source_and_never_scan_them(cats):
    first = ingest(cats, workers=1)
    assert db_of(cats).exists() and (cats / "thumbs").is_dir()
    assert first.files == DEMO_COUNT
    again = ingest(cats, workers=1)
    assert again.files == DEMO_COUNT  # thumbnails and the database are not sources
    assert again.skipped == 0


def test_every_file_gets_a_row_and_shared_identities_share_one_image(cats):
    summary = ingest(cats, workers=1)
    db = db_of(cats)
    assert rows(db, "select count(*) from files")[0][0] == DEMO_COUNT
    images = rows(db, "select count(*) from images")[0][0]
    assert summary.images == images == summary.new_images
    shared = rows(db, "select image_id, count(*) from files group by 1 having count(*) > 1")
    assert shared, "the demo's re-encoded variants share an identity with their original"
    assert images == DEMO_COUNT - sum(n - 1 for _, n in shared)


def test_rows_match_imagehash_and_the_thumbnail_files(cats):
    ingest(cats, workers=1)
    db = db_of(cats)
    for path, image_id, whash_hex, width, height in rows(
        db,
        "select f.path, i.id, i.whash, i.width, i.height from files f join images i on i.id = f.image_id",
    ):
        with Image.open(cats / path) as img:
            assert whash_hex == str(imagehash.whash(img))
            assert (width, height) == img.size
        assert image_id == f"{width}x{height}_{whash_hex}"
    for image_id, png, folder in rows(
        db,
        "select t.image_id, t.png, i.folder from thumbnails t join images i on i.id = t.image_id",
    ):
        file = cats / "thumbs" / folder / f"{image_id}_.png"
        assert file.read_bytes() == png
        meta = read_png_metadata(png)
        assert PNG_KEYS <= set(meta)
        assert meta["whash"] == image_id.split("_")[1]
        with Image.open(file) as thumb:
            assert max(thumb.size) <= 64


def test_thumbnail_carries_the_prototype_metadata_keys(cats):
    ingest(cats, workers=1)
    png = rows(db_of(cats), "select png from thumbnails limit 1")[0][0]
    meta = read_png_metadata(png)
    assert PNG_KEYS <= set(meta)
    assert json.loads(meta["extremes"]) and meta["filename"] == meta["path"].rsplit("/", 1)[-1]


def test_tags_come_from_source_folders_and_size_but_not_numeric_names(cats):
    ingest(cats, workers=1)
    db = db_of(cats)
    tags = {
        (tag, origin) for tag, origin in rows(db, "select distinct tag, origin from image_tags")
    }
    assert ("outdoor", "source") in tags and ("ginger", "source") in tags
    assert not any(tag == "2024" for tag, _ in tags)
    for image_id, size, tags_json in rows(db, "select id, size, tags from images"):
        tag_list = json.loads(tags_json)
        assert size in tag_list
        assert tag_list == sorted(
            t for (t,) in rows(db, "select tag from image_tags where image_id = ?", [image_id])
        )


def test_unchanged_files_are_not_opened_again(cats):
    ingest(cats, workers=1)
    victim = next(cats.rglob("*.jpg"))
    stat = victim.stat()
    victim.write_bytes(b"\0" * stat.st_size)  # same size, garbage inside
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = ingest(cats, workers=1)
    assert again.unchanged == DEMO_COUNT
    assert again.errors == 0 and again.new_images == 0


def test_changed_file_is_hashed_again(cats):
    ingest(cats, workers=1)
    victim = sorted(cats.rglob("*.jpg"))[0]
    relative = victim.relative_to(cats).as_posix()
    before = rows(db_of(cats), "select image_id from files where path = ?", [relative])[0][0]
    Image.new("RGB", (300, 200), (10, 200, 30)).save(victim)
    again = ingest(cats, workers=1)
    after = rows(db_of(cats), "select image_id from files where path = ?", [relative])[0][0]
    assert again.unchanged == DEMO_COUNT - 1
    assert after != before and after.startswith("300x200_")


def test_vanished_files_are_reported_and_marked_then_cleared_when_back(cats, tmp_path):
    ingest(cats, workers=1)
    victim = sorted(cats.rglob("*.png"))[0]
    relative = victim.relative_to(cats).as_posix()
    shutil.move(victim, tmp_path / "away.png")
    gone = ingest(cats, workers=1)
    assert gone.missing == 1 and "1 missing" in gone.line()
    assert rows(
        db_of(cats), "select missing_since is not null from files where path = ?", [relative]
    ) == [(1,)]
    shutil.move(tmp_path / "away.png", victim)
    back = ingest(cats, workers=1)
    assert back.missing == 0
    assert rows(db_of(cats), "select missing_since from files where path = ?", [relative]) == [
        (None,)
    ]


def test_thumbnail_moved_by_the_user_stays_where_it_is(cats):
    ingest(cats, workers=1)
    db = db_of(cats)
    path, image_id = rows(db, "select path, image_id from files order by path limit 1")[0]
    thumbs = cats / "thumbs"
    (thumbs / "favourites" / "2023").mkdir(parents=True)
    shutil.move(thumbs / f"{image_id}_.png", thumbs / "favourites" / "2023" / f"{image_id}_.png")
    sync_thumbnails(open_database(db))
    source = cats / path
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    ingest(cats, workers=1)
    assert not (thumbs / f"{image_id}_.png").exists()
    assert rows(db, "select folder from images where id = ?", [image_id]) == [("favourites/2023",)]
    tags = {t for (t,) in rows(db, "select tag from image_tags where image_id = ?", [image_id])}
    assert "favourites" in tags and "2023" not in tags


def test_rebuilt_database_finds_thumbnails_already_sorted_into_folders(cats):
    ingest(cats, workers=1)
    image_id = rows(db_of(cats), "select id from images order by id limit 1")[0][0]
    thumbs = cats / "thumbs"
    (thumbs / "sleeping").mkdir()
    shutil.move(thumbs / f"{image_id}_.png", thumbs / "sleeping" / f"{image_id}_.png")
    for file in cats.glob("cats.db*"):
        file.unlink()
    ingest(cats, workers=1)
    assert rows(db_of(cats), "select folder from images where id = ?", [image_id]) == [
        ("sleeping",)
    ]
    assert not (thumbs / f"{image_id}_.png").exists()


def test_parallel_workers_give_the_same_rows_as_one(cats, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(cats, other)
    ingest(cats, workers=1)
    ingest(other, workers=2)
    query = "select id, whash, phash, dhash, folder, tags, extrema from images order by id"
    assert rows(db_of(cats), query) == rows(other / "other.db", query)
    query = "select path, image_id, bytes, sha256 from files order by path"
    assert rows(db_of(cats), query) == rows(other / "other.db", query)


def test_explicit_database_and_thumbnails_locations(cats, tmp_path):
    summary = ingest(cats, tmp_path / "elsewhere.db", tmp_path / "t", size=32, workers=1)
    assert summary.new_images > 0
    names = [p.name for p in (tmp_path / "t").iterdir()]
    assert names and all(THUMBNAIL_NAME.match(name) for name in names)
    with Image.open(tmp_path / "t" / names[0]) as thumb:
        assert max(thumb.size) <= 32
    settings = dict(rows(tmp_path / "elsewhere.db", "select key, value from settings"))
    # Folders beside the database are stored relative to it: a copy shows no home directory.
    assert settings["thumbs_root"] == "t" and settings["source_root"] == "cats"
    assert settings["thumb_size"] == "32"
    ingest(cats, tmp_path / "sub" / "db.db", tmp_path / "t", workers=1)
    settings = dict(rows(tmp_path / "sub" / "db.db", "select key, value from settings"))
    assert settings["thumbs_root"] == str(tmp_path / "t")  # outside the database's folder


def test_summary_line_counts_with_separators(cats):
    summary = ingest(cats, workers=1)
    assert summary.line().startswith(
        f"{DEMO_COUNT:,} files (0 unchanged), {summary.images:,} images"
    )
    assert summary.line().endswith("0 errors")


def test_an_unchanged_run_loads_no_compiled_code(cats):
    """Nothing to read, nothing to search: no numba, no worker processes."""
    ingest(cats, workers=1)
    code = (
        "import sys\n"
        "from ingest.pipeline import ingest\n"
        f"summary = ingest({str(cats)!r})\n"
        "print(summary.unchanged, summary.files, 'numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    unchanged, files, numba = out.stdout.split()
    assert unchanged == files and numba == "False"


def test_the_written_out_picture_suffixes_are_what_pillow_opens():
    """If this fails after a Pillow upgrade, copy the new list into
    ingest/scanning.py: PICTURE_SUFFIXES."""
    from ingest.scanning import HEIF_SUFFIXES, PICTURE_SUFFIXES, picture_suffixes

    # Pillow knows the HEIF ones only once pillow-heif has registered itself.
    installed = picture_suffixes() - HEIF_SUFFIXES
    assert PICTURE_SUFFIXES == installed, sorted(installed)


def test_the_source_folder_is_walked_once(tmp_path, monkeypatch):
    """A new database: the check for pictures and the scan are one walk."""
    from ingest import scanning

    source = tmp_path / "photos"
    for width, folder in zip((16, 20, 24), ("a", "a/b", "c"), strict=True):
        (source / folder).mkdir(parents=True)
        Image.new("RGB", (width, 12), "red").save(source / folder / "x.png")
    (source / "notes.txt").write_text("not a picture")
    listed = []
    real = scanning.os.scandir

    def counted(path):
        listed.append(Path(path).resolve())
        return real(path)

    monkeypatch.setattr(scanning.os, "scandir", counted)
    summary = ingest(source, tmp_path / "p.db", tmp_path / "thumbs", workers=1)
    assert summary.new_images == 3
    walked = sorted(path for path in listed if path.is_relative_to(source.resolve()))
    assert walked == sorted({source.resolve(), *(source.resolve() / f for f in ("a", "a/b", "c"))})
