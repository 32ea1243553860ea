"""SIGKILL at any moment: the database stays consistent and a re-run finishes
with exactly the rows an uninterrupted run gives."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ingest.core import THUMBNAIL_NAME
from ingest.demo import write_demo_pictures
from ingest.files import TEMP_PREFIX
from ingest.pipeline import ingest

from .conftest import snapshot as snapshot_of

COUNT = 80
# Compared after the runs; timestamps (errors.at, files.missing_since) excluded.
TABLES = {
    "images": "select * from images order by id",
    "thumbnails": "select image_id, sha256, length(png) from thumbnails order by image_id",
    "files": "select path, image_id, bytes, mtime, sha256 from files order by path",
    "image_tags": "select * from image_tags order by image_id, tag",
    "errors": "select path, stage, error from errors order by path",
    "moves": "select count(*) from moves",
}


def snapshot(db: Path) -> dict[str, list]:
    return snapshot_of(db, TABLES)


def files_committed(db: Path) -> int:
    if not db.exists():
        return -1
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)
        try:
            return conn.execute("select count(*) from files").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


def start(source: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ingest",
            "ingest",
            str(source),
            "-s",
            "--workers",
            "2",
            "--commit-every",
            "7",
        ],
        start_new_session=True,  # its own process group: the kill takes the workers too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_when(process: subprocess.Popen, ready) -> None:
    deadline = time.monotonic() + 60
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def check_consistent(source: Path) -> None:
    db = source / f"{source.name}.db"
    if db.exists():
        conn = sqlite3.connect(db)
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        tables = {name for (name,) in conn.execute("select name from sqlite_master")}
        # Killed before its first migration committed: an empty, valid file.
        query = (
            "select image_id, png from thumbnails"
            if "thumbnails" in tables
            else "select 1, 2 limit 0"
        )
        blobs = dict(conn.execute(query))
        conn.close()
    else:
        blobs = {}
    for path in (source / "thumbs").rglob("*"):
        if THUMBNAIL_NAME.match(path.name):
            with Image.open(path) as thumb:
                thumb.load()  # a half-written PNG fails here
            identity = path.name[: -len("_.png")]
            if identity in blobs:
                assert path.read_bytes() == blobs[identity]


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kill") / "pictures"
    write_demo_pictures(root, count=COUNT, seed=11, min_side=600, max_side=1400)
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    return root


def test_killed_runs_leave_a_consistent_database_and_resume_to_the_same_rows(pictures, tmp_path):
    reference = tmp_path / "reference"
    shutil.copytree(pictures, reference)
    ingest(reference, workers=2)
    expected = snapshot(reference / "reference.db")

    source = tmp_path / "killed"
    shutil.copytree(pictures, source)
    db = source / "killed.db"
    kill_points = [
        ("at start-up", lambda: True),
        ("as the database appears", lambda: db.exists()),
        ("after the first commit", lambda: files_committed(db) >= 1),
        ("a third of the way", lambda: files_committed(db) >= COUNT // 3),
        ("two thirds of the way", lambda: files_committed(db) >= 2 * COUNT // 3),
        ("near the end", lambda: files_committed(db) >= COUNT - 3),
    ]
    progress = []
    for label, ready in kill_points:
        kill_when(start(source), ready)
        check_consistent(source)
        progress.append((label, files_committed(db)))
    assert any(0 < n < COUNT for _, n in progress), progress  # some kills landed mid-run

    finished = start(source)
    assert finished.wait(timeout=120) == 0, finished.stderr.read()
    check_consistent(source)
    assert not [p for p in (source / "thumbs").rglob(TEMP_PREFIX + "*")]
    assert snapshot(db) == expected


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    """Killed early in a long run: the workers, with many pictures still queued,
    are gone within a few seconds instead of working through their queue."""
    source = tmp_path / "pictures"
    source.mkdir()
    rng = np.random.default_rng(5)
    noisy = rng.integers(0, 256, (2400, 2400, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(source / "p000.jpg", quality=90)
    for n in range(1, 160):  # the same big picture under many names: slow to get through
        os.link(source / "p000.jpg", source / f"p{n:03}.jpg")
    process = start(source)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and process.poll() is None and time.monotonic() < deadline:
        workers = children_of(process.pid)
        time.sleep(0.01)
    assert len(workers) >= 2, "the workers never started"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)  # the main process only, not its group
    process.wait()
    deadline = time.monotonic() + 3
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left
