"""Hostile and unlucky environments: files swapped after the scan, links out
of the thumbnails root, files in the way, damaged or read-only databases,
and arguments that make no sense. Each ends in one clear line, never a
traceback, and nothing half-done."""

import hashlib
import http.server
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ingest import parallel
from ingest.cli import cli
from ingest.demo import draw_cat
from ingest.pipeline import ingest

from .conftest import rows, tmpfs

SWAP_AFTER_SCAN = """
import os, resource, sys
from pathlib import Path
from ingest import pipeline

resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
source, how = Path(sys.argv[1]), sys.argv[2]
scan = pipeline.iter_source_files

def swapping(*args):
    for item in scan(*args):
        if getattr(item, "relative", "") == "victim.png":  # replaced as the scan sees it
            item.path.unlink()
            if how == "fifo":
                os.mkfifo(item.path)
            else:
                item.path.symlink_to("/dev/zero")
        yield item

pipeline.iter_source_files = swapping
summary = pipeline.ingest(source, workers=1)
print(summary.line())
"""


@pytest.mark.parametrize("how", ["fifo", "zero"])
def test_a_file_swapped_after_the_scan_is_refused_not_read(tmp_path, how):
    """A FIFO would hang ingest forever (holding its lock); a link to
    /dev/zero would be read until memory runs out."""
    source = tmp_path / "cats"
    source.mkdir()
    for name, colour in (("victim.png", "red"), ("fine.png", "blue")):
        Image.new("RGB", (40, 30), colour).save(source / name)
    done = subprocess.run(
        [sys.executable, "-c", SWAP_AFTER_SCAN, str(source), how],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert "1 images (1 new)" in done.stdout and "1 error" in done.stdout
    (error,) = rows(source / "cats.db", "select path, stage, error from errors")
    assert error[:2] == ("victim.png", "read") and "no longer a regular file" in error[2]


def test_a_file_that_grew_past_its_scanned_size_is_not_read_whole(tmp_path):
    from ingest.analyse import analyse_file
    from ingest.files import GROWTH_MARGIN

    path = tmp_path / "grown.png"
    Image.new("RGB", (40, 30), "red").save(path)
    scanned = path.stat().st_size
    with open(path, "ab") as handle:
        handle.write(b"\0" * (GROWTH_MARGIN + 10))
    failed = analyse_file(path, "grown.png", 64, "exact", scanned)
    assert failed.failed and failed.stage == "read" and "when it was found" in failed.error


@pytest.fixture
def built(cats):
    ingest(cats, workers=1)
    return cats


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def thumbnail_files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*_.png"))
        if path.is_file()
    }


@pytest.mark.parametrize("link", ["elsewhere", ".."])
def test_sort_never_follows_a_linked_folder_out_of_the_thumbnails_root(built, tmp_path, link):
    db, thumbs = built / "cats.db", built / "thumbs"
    before = thumbnail_files(thumbs)
    target = tmp_path / "elsewhere"
    target.mkdir()
    (thumbs / "by_ham").symlink_to(target if link == "elsewhere" else Path(".."))
    code, output = run("sort", "--db", db, "--by", "ham")
    assert code == 1 and "by_ham" in output and "outside the thumbnails root" in output
    assert list(target.iterdir()) == [] and not list(built.glob("*_.png"))
    (thumbs / "by_ham").unlink()
    assert thumbnail_files(thumbs) == before
    assert rows(db, "select count(*) from moves") == [(0,)]


def test_sort_refuses_to_overwrite_another_file_of_the_same_name(built):
    db, thumbs = built / "cats.db", built / "thumbs"
    image_id, size = rows(db, "select id, size from images order by id limit 1")[0]
    stranger = thumbs / "by_size" / size / f"{image_id}_.png"
    stranger.parent.mkdir(parents=True)
    stranger.write_bytes(b"someone else's file")
    code, output = run("sort", "--db", db, "--by", "size")
    assert code == 1 and "is already there and is another file" in output
    assert stranger.read_bytes() == b"someone else's file"
    assert rows(db, "select count(*) from moves") == [(0,)]


def test_file_system_failures_are_one_line_naming_the_path(built, tmp_path):
    db, thumbs = built / "cats.db", built / "thumbs"
    before = thumbnail_files(thumbs)
    (thumbs / "by_size").write_text("a file where a folder goes")
    code, output = run("sort", "--db", db, "--by", "size")
    assert code == 1 and "'by_size' is a file" in output and len(output.splitlines()) == 1
    (thumbs / "by_size").unlink()
    assert thumbnail_files(thumbs) == before
    # Thumbnails missing when they are sorted back home.
    assert run("sort", "--db", db, "--by", "size")[0] == 0
    moved = thumbnail_files(thumbs)
    first = sorted(thumbs.rglob("*_.png"))[0]
    first.unlink()
    code, output = run("sort", "--db", db, "--by", "home")
    assert code == 1 and "missing" in output and "sync --restore" in output
    assert thumbnail_files(thumbs) == {k: v for k, v in moved.items() if thumbs / k != first}
    # A plot into a folder that does not exist.
    code, output = run("stats", "--db", db, "--plot", tmp_path / "nowhere" / "plot.png")
    assert code == 1 and str(tmp_path / "nowhere" / "plot.png") in output.splitlines()[-1]


def test_a_thumbnails_root_that_is_a_file_is_one_line(built):
    db, thumbs = built / "cats.db", built / "thumbs"
    shutil.rmtree(thumbs)
    thumbs.write_text("not a folder")
    for args in (["sort", "--db", db, "--by", "size"], ["sync", "--db", db, "--restore"]):
        code, output = run(*args)
        assert code == 1 and str(thumbs) in output and len(output.splitlines()) == 1, output
    assert thumbs.read_text() == "not a folder"
    assert rows(db, "select count(*) from moves") == [(0,)]


def corrupt(db: Path) -> None:
    """Overwrite three pages in the middle of a database file with noise."""
    pages = db.stat().st_size // 4096
    with open(db, "r+b") as handle:
        handle.seek(pages // 2 * 4096)
        handle.write(os.urandom(3 * 4096))


def test_a_damaged_database_is_one_line_naming_quick_check(built):
    db = built / "cats.db"
    corrupt(db)
    for args in (
        ["stats", "--db", db],
        ["sync", "--db", db],
        ["pairs", "--db", db],
        ["sort", "--db", db, "--by", "size", "--dry-run"],
        ["duplicates", "--db", db],
        ["ingest", built, "-s"],
    ):
        code, output = run(*args)
        assert code == 1, (args, output)
        assert "PRAGMA quick_check" in output and len(output.splitlines()) == 1, output


@pytest.fixture
def read_only_copy(built, tmp_path):
    """The built database on a read-only file system."""
    with tmpfs(tmp_path / "media") as media:
        shutil.copy(built / "cats.db", media / "cats.db")
        subprocess.run(["mount", "-o", "remount,ro", str(media)], check=True)
        yield media / "cats.db"


def test_a_database_on_read_only_media_is_read_and_never_written(read_only_copy):
    db = read_only_copy
    for args in (
        ["stats", "--db", db],
        ["duplicates", "--db", db],
        ["sort", "--db", db, "--by", "size", "--dry-run"],
    ):
        code, output = run(*args)
        assert code == 0, (args, output)
    assert " sets: " in run("duplicates", "--db", db)[1]
    for args in (
        ["sort", "--db", db, "--by", "size"],
        ["pairs", "--db", db],
        ["sync", "--db", db],
    ):
        code, output = run(*args)
        assert code == 1 and "read-only" in output and len(output.splitlines()) == 1, output


def test_ingest_into_a_read_only_thumbnails_folder_is_one_line(cats, tmp_path):
    with tmpfs(tmp_path / "media", "ro,size=1m") as media:
        code, output = run("ingest", cats, "--thumbs", media / "thumbs", "-s")
    assert code == 1 and "Read-only file system" in output and str(media / "thumbs") in output


def test_one_decision_at_a_time(built):
    db = built / "cats.db"
    a, b = [i for (i,) in rows(db, "select id from images order by id limit 2")]
    code, output = run("duplicates", "--db", db, "--same", a, b, "--different", a, b)
    assert code == 2 and "not both" in output
    assert rows(db, "select count(*) from decisions") == [(0,)]


@pytest.mark.parametrize("rule", ["whash<=64", "phash+dhash<=128", "whash+phash+dhash<=500"])
def test_a_rule_that_would_join_every_pair_is_refused(built, rule):
    db = built / "cats.db"
    stored = rows(db, "select value from settings where key = 'rule'")
    code, output = run("pairs", "--db", db, "--rule", rule)
    assert code == 2 and "would join every pair" in output
    assert rows(db, "select value from settings where key = 'rule'") == stored
    assert run("pairs", "--db", db, "--rule", "whash<=63")[0] == 0  # the largest that is not


def test_workers_are_capped_by_the_cores_and_the_files(cats, monkeypatch):
    used = []
    real = parallel.iter_map

    def counting(fn, items, workers, *args, **kwargs):
        used.append(workers)
        return real(fn, items, workers, *args, **kwargs)

    monkeypatch.setattr(parallel, "iter_map", counting)
    result = CliRunner().invoke(cli, ["ingest", str(cats), "--workers", "256", "-s"])
    assert result.exit_code == 0, result.output
    assert "so 8 are used" in result.output or parallel.worker_limit() != 8
    files = rows(cats / "cats.db", "select count(*) from files")[0][0]
    assert used == [min(parallel.worker_limit(), -(-files // parallel.CHUNK))]


def test_a_dask_address_that_speaks_http_fails_in_one_line(cats):
    """Dask's client would wait forever for a greeting; the command ends
    within its connect timeout (10 s)."""
    pytest.importorskip("distributed")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.server_address[1]}"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ingest", "ingest", str(cats), "--dask", address, "-s"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parent.parent,
        )
    finally:
        server.shutdown()
    assert done.returncode == 1 and "sent no Dask greeting" in done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_sync_finds_and_restores_a_thumbnail_overwritten_with_another_picture(built):
    db, thumbs = built / "cats.db", built / "thumbs"
    (a, version), (b, _) = rows(db, "select id, thumbnail from images order by id limit 2")
    (thumbs / f"{a}_.png").write_bytes((thumbs / f"{b}_.png").read_bytes())
    code, output = run("sync", "--db", db)
    assert code == 0 and f"changed: {a}_.png" in output
    code, output = run("sync", "--db", db, "--restore")
    assert code == 0 and "written back" in output
    assert hashlib.sha256((thumbs / f"{a}_.png").read_bytes()).hexdigest() == version
    assert "changed:" not in run("sync", "--db", db)[1]


def test_sync_never_makes_a_tag_of_a_folder_name_the_web_move_refuses(built):
    db, thumbs = built / "cats.db", built / "thumbs"
    image_id = rows(db, "select id from images order by id limit 1")[0][0]
    odd = thumbs / "two\nlines"
    odd.mkdir()
    (thumbs / f"{image_id}_.png").rename(odd / f"{image_id}_.png")
    code, output = run("sync", "--db", db)
    assert code == 0 and "skipped: two\\u000Alines (folder names cannot contain control" in output
    assert not rows(db, "select * from image_tags where tag like '%' || char(10) || '%'")
    assert rows(db, "select folder from images where id = ?", [image_id]) == [("",)]


def test_sync_messages_name_no_python_objects(built):
    db, thumbs = built / "cats.db", built / "thumbs"
    (thumbs / "100x100_0123456789abcdef_.png").write_bytes(b"not a png at all")
    code, output = run("sync", "--db", db)
    assert code == 0 and "not a picture Pillow can read" in output
    assert "object at 0x" not in output


def test_corrupt_exif_notes_stay_out_of_a_silent_ingest(tmp_path):
    import struct

    source = tmp_path / "cats"
    source.mkdir()
    # An EXIF block whose one entry points past its end: Pillow warns and goes on.
    ifd = struct.pack("<2sHIH", b"II", 42, 8, 1) + struct.pack("<HHIII", 0x010E, 2, 100, 1000, 0)
    Image.new("RGB", (50, 40), "red").save(source / "exif.jpg", exif=b"Exif\0\0" + ifd)
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "ingest", str(source), "-s"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0 and "1 images (1 new)" in done.stdout
    assert done.stderr == ""
    assert sqlite3.connect(source / "cats.db").execute(
        "select count(*) from errors"
    ).fetchone() == (0,)


def sixteen_bit(img: Image.Image) -> Image.Image:
    """A 16-bit grey copy of a picture, its levels widened as v * 257."""
    return Image.fromarray(np.asarray(img.convert("L"), dtype=np.uint16) * 257)


def test_sixteen_bit_pictures_hash_as_their_8_bit_selves_not_as_blank(tmp_path):
    source = tmp_path / "cats"
    source.mkdir()
    rng = random.Random(16)
    pictures = [draw_cat(rng, 160, 120, kind) for kind in ("tabby", "calico", "black")]
    for n, picture in enumerate(pictures):
        sixteen_bit(picture).save(source / f"wide{n}.png")
        sixteen_bit(picture).save(source / f"wide{n}.tif")
        picture.convert("L").save(source / f"narrow{n}.png")
    ingest(source, workers=1)
    db = source / "cats.db"
    ids = dict(rows(db, "select path, image_id from files"))
    assert len(set(ids.values())) == 3  # three pictures, not one blank one
    for n in range(3):  # the 16-bit files are the same picture as the 8-bit one
        assert ids[f"wide{n}.png"] == ids[f"wide{n}.tif"] == ids[f"narrow{n}.png"]
    assert all(not i.endswith("0" * 16) for i in ids.values())
    assert rows(db, "select mode from images order by id")[0][0] in ("L", "I;16")
    assert rows(db, "select count(*) from errors") == [(0,)]


def test_pictures_with_no_detail_are_recorded_and_never_grouped(tmp_path):
    source = tmp_path / "cats"
    source.mkdir()
    Image.new("RGB", (1, 1), "red").save(source / "dot.png")
    Image.new("RGB", (7, 3), (10, 200, 30)).save(source / "flat.png")
    Image.new("L", (1, 3000), 90).save(source / "line.png")
    Image.new("RGB", (300, 200), "navy").save(source / "navy.png")
    rng = random.Random(12)
    cat = draw_cat(rng, 200, 150, "tabby")
    cat.save(source / "cat.png")
    cat.resize((190, 142)).save(source / "cat-smaller.png")  # a true near-duplicate
    ingest(source, workers=1)
    db = source / "cats.db"
    flat = dict(rows(db, "select f.path, i.flat from files f join images i on i.id = f.image_id"))
    assert flat == {
        "dot.png": 1,
        "flat.png": 1,
        "line.png": 1,
        "navy.png": 1,
        "cat.png": 0,
        "cat-smaller.png": 0,
    }
    grouped = rows(
        db,
        "select f.path from files f join images i on i.id = f.image_id"
        " where i.cluster is not null order by f.path",
    )
    assert grouped == [("cat-smaller.png",), ("cat.png",)]
