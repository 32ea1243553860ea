"""Duplicates at the level of files: every copy listed, how it differs, the
file a person keeps, and the others printed for them to set aside."""

import datetime
import json
import os
import random
import shutil
import sqlite3
from pathlib import Path

import imagehash
import numpy as np
from click.testing import CliRunner
from PIL import Image, ImageOps

from ingest.cli import cli
from ingest.demo import draw_cat
from ingest.pipeline import ingest

from .conftest import rows


def copies(tmp_path: Path) -> Path:
    """A folder of copies as people make them: a byte copy and a PNG of one
    photograph (one picture, three files), a grey copy of another (one
    picture, two files), a smaller copy of a third (a near-duplicate), two
    flat pictures of one size in different colours, and one alone."""
    source = tmp_path / "photos"
    for folder in ("holiday", "phone", "backup"):
        (source / folder).mkdir(parents=True)
    rng = random.Random(3)
    beach, dog, tree, alone = (
        draw_cat(rng, 320, 240, kind) for kind in ("tabby", "ginger", "black", "grey")
    )
    beach.save(source / "holiday/beach.jpg", quality=90)
    shutil.copyfile(source / "holiday/beach.jpg", source / "backup/beach.jpg")
    Image.open(source / "holiday/beach.jpg").save(source / "phone/beach.png")
    dog.save(source / "holiday/dog.png")
    dog.convert("L").save(source / "phone/dog grey.png")
    tree.save(source / "holiday/tree.jpg", quality=90)
    tree.resize((240, 180)).save(source / "phone/tree small.jpg", quality=80)
    Image.new("RGB", (30, 20), "red").save(source / "holiday/red.png")
    Image.new("RGB", (30, 20), "blue").save(source / "holiday/blue.png")
    alone.save(source / "holiday/alone.jpg")
    return source


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def listed(db: Path) -> list[dict]:
    code, output = run("duplicates", "--db", str(db), "--json")
    assert code == 0, output
    return json.loads(output)


def paths_of(found: dict) -> set[str]:
    return {f["path"] for p in found["pictures"] for f in p["files"]}


def test_every_copy_is_listed_with_how_it_differs(tmp_path):
    source = copies(tmp_path)
    db = tmp_path / "photos.db"
    ingest(source, db, tmp_path / "thumbs", workers=1)
    sets = listed(db)
    by_paths = {frozenset(paths_of(s)): s for s in sets}
    beach = by_paths[frozenset({"holiday/beach.jpg", "backup/beach.jpg", "phone/beach.png"})]
    assert beach["cluster"] is None and len(beach["pictures"]) == 1  # one picture, three files
    files = {f["path"]: f for f in beach["pictures"][0]["files"]}
    assert files["backup/beach.jpg"]["differs"] == ""  # the first by path
    assert files["holiday/beach.jpg"]["differs"] == "the same bytes as backup/beach.jpg"
    png = files["phone/beach.png"]
    assert png["format"] == "PNG" and png["differs"].startswith(
        "differs from backup/beach.jpg in format (PNG, not JPEG) and bytes ("
    )
    assert png["differs"].endswith("pixels alike (every hash equal)")
    on_disk = (source / "phone/beach.png").stat()
    assert png["bytes"] == on_disk.st_size
    assert png["modified"] == datetime.datetime.fromtimestamp(
        on_disk.st_mtime_ns // 10**9, datetime.UTC
    ).isoformat(timespec="seconds")
    dog = by_paths[frozenset({"holiday/dog.png", "phone/dog grey.png"})]
    grey = {f["path"]: f for f in dog["pictures"][0]["files"]}["phone/dog grey.png"]
    assert grey["mode"] == "L" and "mode (L, not RGB)" in grey["differs"]
    tree = by_paths[frozenset({"holiday/tree.jpg", "phone/tree small.jpg"})]
    assert tree["cluster"] is not None and len(tree["pictures"]) == 2 and tree["pairs"]
    # The two flat pictures share an id but not their bytes: never a set.
    flat = rows(
        db, "select image_id from files where path in ('holiday/red.png', 'holiday/blue.png')"
    )
    assert flat[0] == flat[1]  # one id...
    assert not any({"holiday/red.png", "holiday/blue.png"} & paths_of(s) for s in sets)  # no set
    assert not any("holiday/alone.jpg" in paths_of(s) for s in sets)
    assert len(sets) == 3
    code, text = run("duplicates", "--db", str(db))
    assert text.rstrip().endswith("3 sets: 7 files of 4 pictures; 0 decided, 0 files redundant")
    assert "    holiday/beach.jpg  320x240  JPEG  " in text
    code, table = run("duplicates", "--db", str(db), "--csv")
    header, *lines = table.splitlines()
    assert header == "set,cluster,image_id,path,size,format,mode,bytes,sha256,modified,kept,differs"
    assert len(lines) == 7


def test_two_byte_identical_files_are_one_set(tmp_path):
    source = tmp_path / "two"
    source.mkdir()
    draw_cat(random.Random(1), 200, 150, "calico").save(source / "a.jpg")
    shutil.copyfile(source / "a.jpg", source / "b.jpg")
    ingest(source, tmp_path / "two.db", tmp_path / "thumbs", workers=1)
    (found,) = listed(tmp_path / "two.db")
    assert found["files"] == 2 and found["pictures"][0]["same_bytes"] is True


def test_the_kept_file_makes_the_others_redundant_and_nothing_is_deleted(tmp_path):
    source = copies(tmp_path)
    os.rename(source / "phone/beach.png", source / "phone/beach \udcff.png")  # not UTF-8
    db = tmp_path / "photos.db"
    ingest(source, db, tmp_path / "thumbs", workers=1)
    code, output = run("duplicates", "--db", str(db), "--redundant")
    assert code == 0 and output == ""  # nothing decided, nothing redundant
    code, output = run("duplicates", "--db", str(db), "--keep", "backup/beach.jpg")
    assert code == 0 and "2 other file(s)" in output, output
    code, output = run("duplicates", "--db", str(db), "--keep", "holiday/beach.jpg")  # changed mind
    assert rows(db, "select path, actor from kept_files") == [
        ("holiday/beach.jpg", "cattags duplicates")
    ]
    run("duplicates", "--db", str(db), "--keep", "holiday/tree.jpg")
    result = CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--redundant", "-0"])
    redundant = result.stdout_bytes.split(b"\0")
    assert redundant[-1] == b""  # NUL after each
    root = os.fsencode(source.resolve())
    assert sorted(redundant[:-1]) == sorted(
        [
            root + b"/backup/beach.jpg",
            root + b"/phone/beach \xff.png",
            root + b"/phone/tree small.jpg",
        ]
    )
    assert all(os.path.exists(path) for path in redundant[:-1])  # listed, never deleted
    code, text = run("duplicates", "--db", str(db))
    assert "2 decided, 3 files redundant" in text and "KEPT" in text
    kept = [s for s in listed(db) if any(f["kept"] for p in s["pictures"] for f in p["files"])]
    first = {f["path"]: f for f in kept[0]["pictures"][0]["files"]}
    assert first["backup/beach.jpg"]["differs"] == "the same bytes as holiday/beach.jpg"
    code, output = run("duplicates", "--db", str(db), "--keep", "holiday/nothing.jpg")
    assert code == 1 and "no such source file: holiday/nothing.jpg" in output
    code, output = run("duplicates", "--db", str(db), "-0")
    assert code == 2 and "-0 goes with --redundant" in output
    code, output = run("duplicates", "--db", str(db), "--redundant", "--keep", "backup/beach.jpg")
    assert code == 2 and "give it alone" in output
    assert rows(db, "select path from kept_files order by path") == [
        ("holiday/beach.jpg",),
        ("holiday/tree.jpg",),
    ]


def test_files_read_before_they_had_their_own_hashes_are_read_once_more(tmp_path):
    source = copies(tmp_path)
    db = tmp_path / "photos.db"
    ingest(source, db, tmp_path / "thumbs", workers=1)
    before = rows(db, "select path, format, mode, whash, phash, dhash from files order by path")
    with sqlite3.connect(db) as conn:  # as migration 15 leaves files of pictures with several
        conn.execute(
            "update files set format = null, mode = null, whash = null, phash = null,"
            " dhash = null where path like 'phone/%'"
        )
    conn.close()
    (beach,) = [s for s in listed(db) if "phone/beach.png" in paths_of(s)]
    png = {f["path"]: f for f in beach["pictures"][0]["files"]}["phone/beach.png"]
    assert png["differs"].endswith("pixels not compared (read before each file had its own hashes)")
    summary = ingest(source, db, tmp_path / "thumbs", workers=1)
    assert summary.unchanged == summary.files - 3  # the three files of phone/
    assert (
        rows(db, "select path, format, mode, whash, phash, dhash from files order by path")
        == before
    )


def horizon(seed: int) -> Image.Image:
    """A bright upper half over a dark lower one, each of seeded noise: every
    such picture of one size has the same whash (ffffffff00000000), and so
    the same id, but its own phash and dhash."""
    rng = np.random.default_rng(seed)
    grey = rng.integers(0, 90, (240, 320)).astype(np.uint8)
    grey[:120] += 140
    return Image.fromarray(grey).convert("RGB")


def test_different_photographs_that_share_an_id_are_never_listed_as_copies(tmp_path):
    source = tmp_path / "sea"
    source.mkdir()
    for seed in (1, 2):
        horizon(seed).save(source / f"evening-{seed}.png")
    shutil.copyfile(source / "evening-1.png", source / "evening-1 copy.png")
    db = tmp_path / "sea.db"
    ingest(source, db, tmp_path / "thumbs", workers=1)
    assert rows(db, "select count(distinct image_id), min(image_id) from files") == [
        (1, "320x240_ffffffff00000000")
    ]
    (found,) = listed(db)  # the byte copy and its original; not the other evening
    assert paths_of(found) == {"evening-1.png", "evening-1 copy.png"}
    assert found["pictures"][0]["shares_id"] is True
    assert rows(db, "select count(*) from images where cluster is not null") == [(0,)]


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG bytes with an Exif segment holding an orientation flag:
    the pixels do not change, only how the picture is shown."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()
    return jpeg[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def test_a_copy_that_differs_only_in_its_orientation_flag_is_a_turned_pair(tmp_path):
    source = tmp_path / "phone"
    source.mkdir()
    draw_cat(random.Random(8), 320, 240, "ginger").save(source / "cat.jpg", quality=90)
    turned = source / "cat turned by its flag.jpg"
    turned.write_bytes(with_orientation((source / "cat.jpg").read_bytes(), 6))
    with Image.open(turned) as img:
        assert img.getexif()[0x0112] == 6
        shown = ImageOps.exif_transpose(img)
    db = tmp_path / "phone.db"
    ingest(source, db, tmp_path / "thumbs", workers=1)
    pictures = dict(rows(db, "select path, image_id from files"))
    assert pictures["cat.jpg"].startswith("320x240_")
    assert pictures["cat turned by its flag.jpg"] == f"240x320_{imagehash.whash(shown)}"
    sizes = rows(db, "select id, thumb_width, thumb_height from images order by id")
    assert [(w, h) for _, w, h in sizes] == [(48, 64), (64, 48)]  # each shown as it displays
    (rule,) = rows(db, "select rule from pairs where near_duplicate = 1")[0]
    assert "turned 90°" in rule
    (found,) = listed(db)
    assert paths_of(found) == {"cat.jpg", "cat turned by its flag.jpg"}


def test_pairs_come_from_every_file_whatever_the_order_they_were_read_in(tmp_path):
    """Two photographs share an id; a smaller copy of one of them is found
    and listed with it, whichever of the two was read first (the picture's
    own hashes are the first file's)."""
    listings = []
    for first, second in ((1, 2), (2, 1)):
        source = tmp_path / f"{first}{second}"
        source.mkdir()
        horizon(first).save(source / "a.png")
        horizon(second).save(source / "b.png")
        horizon(2).resize((300, 225), Image.Resampling.LANCZOS).save(source / "smaller.png")
        db = source / "photos.db"
        ingest(source, db, tmp_path / f"thumbs{first}", workers=1)
        copy_of_two = "a.png" if first == 2 else "b.png"
        (found,) = listed(db)
        assert paths_of(found) == {copy_of_two, "smaller.png"}
        listings.append(rows(db, "select image_a, image_b from pairs where near_duplicate = 1"))
        # An incremental run finds it too: the second photograph comes later.
        (source / "b.png").rename(tmp_path / "b.png")
        (source / "photos.db").unlink()
        ingest(source, db, tmp_path / f"thumbs{first}-again", workers=1)
        (tmp_path / "b.png").rename(source / "b.png")
        ingest(source, db, tmp_path / f"thumbs{first}-again", workers=1)
        assert (
            rows(db, "select image_a, image_b from pairs where near_duplicate = 1") == listings[-1]
        )
    assert listings[0] == listings[1] and len(listings[0]) == 1
