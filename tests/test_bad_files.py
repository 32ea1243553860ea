"""Bad input is recorded in `errors`, skipped, counted; the run goes on."""

import hashlib
import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from ingest.cli import cli
from ingest.pipeline import ingest

from .conftest import rows


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but carries no pixels: Pillow reads the size first."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def good_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


# name -> (stage, words the message must contain)
EXPECTED = {
    "empty.jpg": ("decode", "empty"),
    "truncated.jpg": ("decode", "broken"),
    "garbage.jpg": ("decode", "not a picture"),
    "letter.png": ("decode", "not a picture"),
    "bomb-warning.png": ("decode", "decompression bomb"),
    "bomb-error.png": ("decode", "decompression bomb"),
    "gone.jpg": ("scan", "broken symlink"),
    "loop.jpg": ("scan", "symlink loop"),
    "nested/back": ("scan", "symlink loop"),
    "pipe.jpg": ("scan", "not a regular file"),
}


@pytest.fixture
def bad_folder(tmp_path) -> Path:
    root = tmp_path / "bad"
    (root / "nested").mkdir(parents=True)
    jpeg = good_jpeg()
    (root / "good.jpg").write_bytes(jpeg)
    (root / "nested" / "good2.png").write_bytes(_png())
    (root / "empty.jpg").write_bytes(b"")
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "garbage.jpg").write_bytes(os.urandom(4096))
    (root / "letter.png").write_text("Dear cat, this is not a picture.\n")
    (root / "bomb-warning.png").write_bytes(png_header_only(10_000, 9_000))  # 90 MP
    (root / "bomb-error.png").write_bytes(png_header_only(20_000, 20_000))  # 400 MP
    (root / "gone.jpg").symlink_to(root / "does-not-exist.jpg")
    (root / "loop.jpg").symlink_to(root / "loop.jpg")
    (root / "nested" / "back").symlink_to(root, target_is_directory=True)
    os.mkfifo(root / "pipe.jpg")
    (root / "notes.txt").write_text("not a picture, plainly")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return root


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").save(buffer, "PNG")
    return buffer.getvalue()


def test_each_kind_of_bad_file_is_recorded_and_skipped(bad_folder):
    summary = ingest(bad_folder, workers=2)
    recorded = {
        path: (stage, error)
        for path, stage, error in rows(
            bad_folder / "bad.db", "select path, stage, error from errors"
        )
    }
    assert set(recorded) == set(EXPECTED)
    for name, (stage, words) in EXPECTED.items():
        assert recorded[name][0] == stage, name
        assert words in recorded[name][1], (name, recorded[name])
    assert summary.errors == len(EXPECTED)
    assert summary.skipped == 2  # notes.txt and .DS_Store: not errors
    assert rows(bad_folder / "bad.db", "select count(*) from images")[0][0] == 2
    failed = {
        p for (p,) in rows(bad_folder / "bad.db", "select path from files where image_id is null")
    }
    assert failed == {
        "empty.jpg",
        "truncated.jpg",
        "garbage.jpg",
        "letter.png",
        "bomb-warning.png",
        "bomb-error.png",
    }


def test_a_rerun_records_each_bad_file_once(bad_folder):
    ingest(bad_folder, workers=1)
    again = ingest(bad_folder, workers=1)
    assert again.errors == len(EXPECTED)
    counts = rows(bad_folder / "bad.db", "select path, count(*) from errors group by path")
    assert all(n == 1 for _, n in counts)


def test_fixed_file_loses_its_error(bad_folder):
    ingest(bad_folder, workers=1)
    (bad_folder / "garbage.jpg").write_bytes(good_jpeg())
    again = ingest(bad_folder, workers=1)
    assert again.errors == len(EXPECTED) - 1
    assert rows(
        bad_folder / "bad.db", "select count(*) from errors where path = 'garbage.jpg'"
    ) == [(0,)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file whatever its mode")
def test_unreadable_file_is_recorded(tmp_path):
    (tmp_path / "secret.jpg").write_bytes(good_jpeg())
    (tmp_path / "secret.jpg").chmod(0)
    summary = ingest(tmp_path, workers=1)
    assert summary.errors == 1
    assert rows(tmp_path / f"{tmp_path.name}.db", "select stage from errors") == [("read",)]


def test_exit_status_is_zero_unless_strict_and_no_traceback(bad_folder):
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(bad_folder), "--silent"])
    assert result.exit_code == 0, result.output
    assert f"{len(EXPECTED)} errors (see the errors table)" in result.output
    assert "Traceback" not in result.output
    strict = runner.invoke(cli, ["ingest", str(bad_folder), "--strict", "-s"])
    assert strict.exit_code == 1
    assert "Traceback" not in strict.output


def test_strict_run_without_errors_exits_zero(tmp_path):
    (tmp_path / "fine.jpg").write_bytes(good_jpeg())
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path), "--strict", "-s"])
    assert result.exit_code == 0, result.output
    assert "1 files (0 unchanged), 1 images (1 new), 1 tags, 0 errors" in result.output


def test_pngs_with_a_text_chunk_named_xmp_are_ingested(tmp_path):
    """Thumbnails of an earlier run (they carry our "xmp" text chunk) or any
    PNG with such a chunk: Pillow's getxmp() expects bytes there."""
    from PIL.PngImagePlugin import PngInfo

    source = tmp_path / "src"
    source.mkdir()
    for name, text in (
        ("ours.png", "null"),
        ("packet.png", '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'),
    ):
        info = PngInfo()
        info.add_text("xmp", text)
        size = (40, 30) if name == "ours.png" else (30, 40)
        Image.new("RGB", size, (200, 90, 30)).save(source / name, pnginfo=info)
    summary = ingest(source, tmp_path / "db.db", tmp_path / "thumbs", workers=1)
    assert summary.errors == 0 and summary.new_images == 2
    xmp = dict(rows(tmp_path / "db.db", "select size, xmp from images"))
    assert sorted(xmp.values()) == [
        '{"unreadable": "syntax error: line 1, column 0"}',
        '{"xmpmeta": null}',
    ]


def test_names_that_are_not_utf8_are_ingested_and_stored_reversibly(tmp_path):
    root = tmp_path / "latin"
    root.mkdir()
    (root / "good.jpg").write_bytes(good_jpeg())
    folder = os.path.join(os.fsencode(root), b"caf\xe9")  # Latin-1 "café"
    os.mkdir(folder)
    Image.new("RGB", (9, 9), "red").save(os.path.join(os.fsencode(root), b"bad\xff.png"))
    Image.new("RGB", (12, 9), "blue").save(os.path.join(folder, b"chat.png"))
    result = CliRunner().invoke(cli, ["ingest", str(root), "-s"])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "3 images (3 new)" in result.output and "0 errors" in result.output
    stored = rows(root / "latin.db", "select path, raw_path from files order by path")
    assert stored == [
        ("bad\\xff.png", b"bad\xff.png"),
        ("caf\\xe9/chat.png", b"caf\xe9/chat.png"),
        ("good.jpg", None),
    ]
    for path, raw in stored:  # the raw bytes name the file on disk again
        assert os.path.isfile(os.path.join(os.fsencode(root), raw or path.encode()))
    assert ("caf\\xe9",) in rows(root / "latin.db", "select tag from image_tags")
    again = ingest(root, workers=1)
    assert again.unchanged == 3 and again.errors == 0


def test_folders_nested_a_thousand_deep_are_walked(tmp_path):
    root = tmp_path / "deep"
    path = os.fsencode(root)
    os.makedirs(path)
    for _ in range(1000):  # made one level at a time: the whole path is too long to name
        os.chdir(path)
        path = b"d"
        os.mkdir(path)
    os.chdir(path)
    Image.new("RGB", (10, 10), "green").save("bottom.png")
    os.chdir(tmp_path)
    try:
        summary = ingest(root, workers=1)
        assert summary.new_images == 1 and summary.errors == 0
    finally:  # shutil.rmtree (pytest's clean-up) recurses; rm does not
        subprocess.run(["rm", "-rf", str(root)], check=True)


def test_a_huge_file_is_checksummed_in_chunks_not_held_in_memory(tmp_path):
    """A 400 MB file named .png: read in chunks, refused as not a picture,
    with its size and checksum recorded, in a few MB of memory."""
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as handle:
        handle.truncate(400 * 1024 * 1024)  # sparse: no disk used
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from ingest.analyse import analyse_file\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
        f"result = analyse_file(Path({str(huge)!r}), 'huge.png', 64)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
        "print(result.stage, result.bytes, result.sha256[:8], peak - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    stage, size, digest, extra_mb = out.stdout.split()
    assert stage == "decode" and int(size) == 400 * 1024 * 1024
    zeros = hashlib.sha256()
    for _ in range(400):
        zeros.update(bytes(1024 * 1024))
    assert digest == zeros.hexdigest()[:8]
    assert int(extra_mb) < 64, extra_mb  # beyond what the imports take
