"""`cattags ingest --dask`: pictures read on a Dask cluster of processes, the
database written here, the same rows as a local run."""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import cli
from ingest.pipeline import ingest

from .conftest import rows, snapshot

distributed = pytest.importorskip("distributed")

TABLES = {
    "images": "select * from images order by id",
    "files": "select path, image_id, bytes, mtime, sha256, raw_path from files order by path",
    "tags": "select * from image_tags order by image_id, tag",
    "variants": "select * from variant_hashes order by image_id",
    "pairs": "select * from pairs order by image_a, image_b, algorithm",
    "neighbours": "select * from neighbours order by image_id, rank",
    "errors": "select path, stage, error from errors order by path",
}


@pytest.fixture(scope="module")
def local_run(demo_pictures, tmp_path_factory) -> dict[str, list]:
    """The rows of a plain local ingest of the demo pictures."""
    folder = tmp_path_factory.mktemp("local")
    target = folder / "cats"
    shutil.copytree(demo_pictures, target)
    ingest(target, folder / "cats.db", folder / "thumbs", workers=2)
    return snapshot(folder / "cats.db", TABLES)


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of two single-threaded worker processes."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as running:
        yield running


def same_place_copy(demo_pictures: Path, tmp_path: Path) -> Path:
    """The demo pictures at a path a test owns (rows hold relative paths, so
    every copy gives the same rows)."""
    folder = tmp_path / "run"
    shutil.copytree(demo_pictures, folder / "cats")
    return folder


def test_local_cluster_gives_the_rows_of_a_local_run(demo_pictures, tmp_path, local_run):
    folder = same_place_copy(demo_pictures, tmp_path)
    summary = ingest(
        folder / "cats", folder / "cats.db", folder / "thumbs", workers=2, dask="local"
    )
    assert summary.errors == 0 and summary.new_images > 0
    assert snapshot(folder / "cats.db", TABLES) == local_run
    assert sorted(p.name for p in (folder / "thumbs").iterdir()) == sorted(
        f"{image_id}_.png" for (image_id, *_rest) in local_run["images"]
    )


def test_a_worker_killed_mid_run_loses_nothing(demo_pictures, tmp_path, local_run, cluster):
    folder = same_place_copy(demo_pictures, tmp_path)
    killed: list[tuple[int, int]] = []  # (pid, tasks it held)

    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)

        def kill_the_busiest_worker_once(n: int) -> None:
            if killed:
                return
            held = {address: len(keys) for address, keys in client.processing().items()}
            victim = max(held, key=held.get)
            os.kill(pids[victim], signal.SIGKILL)
            killed.append((pids[victim], held[victim]))

        summary = ingest(
            folder / "cats",
            folder / "cats.db",
            folder / "thumbs",
            dask=cluster.scheduler_address,
            on_progress=kill_the_busiest_worker_once,
            commit_every=3,
        )
    [(pid, held)] = killed
    assert held > 0  # it died with tasks of this run still to do
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert summary.errors == 0
    assert snapshot(folder / "cats.db", TABLES) == local_run


def nobody_can_run_python() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = [*as_nobody(), sys.executable, "-c", "import distributed, ingest.analyse"]
    return subprocess.run(probe, capture_output=True, cwd="/").returncode == 0


def as_nobody() -> list[str]:
    user = pwd.getpwnam("nobody")
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


@pytest.mark.skipif(not nobody_can_run_python(), reason="needs root to start a worker as nobody")
def test_a_file_a_worker_cannot_read_is_recorded_and_the_rest_are_kept(demo_pictures):
    """A worker that runs as another user cannot open a file only root may
    read: the scan (here, as root) sees it, the worker records why not."""
    # pytest's own temporary folders are private to root: this one is not.
    with tempfile.TemporaryDirectory() as shared:
        tmp_path = Path(shared)
        tmp_path.chmod(0o755)
        cats = tmp_path / "cats"
        shutil.copytree(demo_pictures, cats)
        for folder in (cats, *cats.rglob("*")):
            folder.chmod(0o755 if folder.is_dir() else 0o644)
        secret = sorted(cats.rglob("*.png"))[0]
        secret.chmod(0o600)
        cannot_read_one(cats, secret, tmp_path)


def cannot_read_one(cats: Path, secret: Path, tmp_path: Path) -> None:
    with distributed.LocalCluster(
        n_workers=0, scheduler_port=0, dashboard_address=":0", processes=True
    ) as scheduler:
        worker = subprocess.Popen(
            [*as_nobody(), sys.executable, "-m", "distributed.cli.dask_worker"]
            + [scheduler.scheduler_address, "--nthreads", "1", "--no-dashboard"]
            + ["--local-directory", "/tmp", "--no-nanny"],
            cwd="/",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            summary = ingest(
                cats,
                tmp_path / "cats.db",
                tmp_path / "thumbs",
                dask=scheduler.scheduler_address,
            )
        finally:
            worker.terminate()
            worker.wait(30)
    relative = secret.relative_to(cats).as_posix()
    assert summary.errors == 1
    [(stage, error)] = rows(tmp_path / "cats.db", "select stage, error from errors")
    assert stage == "read" and "Permission denied" in error
    assert rows(tmp_path / "cats.db", "select image_id from files where path = ?", [relative]) == [
        (None,)
    ]
    assert rows(tmp_path / "cats.db", "select count(*) from files where image_id is not null")[0][
        0
    ] == (summary.files - 1)


def test_without_distributed_the_option_says_how_to_install_it(cats):
    script = (
        "import sys; sys.modules['distributed'] = None\n"
        "from ingest.cli import cli\n"
        f"cli(['ingest', {str(cats)!r}, '--dask', 'local', '-s'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 1
    assert "pip install 'datasette-cattags[dask]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (cats / "cats.db").exists()  # refused before any work


def test_an_unreachable_scheduler_is_a_clear_error(cats):
    result = CliRunner().invoke(cli, ["ingest", str(cats), "-s", "--dask", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
