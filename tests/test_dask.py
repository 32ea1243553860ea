"""`cattags ingest --dask`: pictures read on a Dask cluster of processes, the
database written here, the same rows as a local run."""

import os
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

from .conftest import rows, snapshot, writable_copy

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
    ingest(writable_copy(demo_pictures, folder), folder / "cats.db", folder / "thumbs", workers=2)
    return snapshot(folder / "cats.db", TABLES)


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of two single-threaded worker processes."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as running:
        yield running


# The demo pictures in `cats`, the database and thumbnails beside it: the
# layout of local_run (rows hold relative paths, so the rows compare).


def test_local_cluster_gives_the_rows_of_a_local_run(cats, tmp_path, local_run):
    summary = ingest(cats, tmp_path / "cats.db", tmp_path / "thumbs", workers=2, dask="local")
    assert summary.errors == 0 and summary.new_images > 0
    assert snapshot(tmp_path / "cats.db", TABLES) == local_run
    assert sorted(p.name for p in (tmp_path / "thumbs").iterdir()) == sorted(
        f"{image_id}_.png" for (image_id, *_rest) in local_run["images"]
    )


def test_a_worker_killed_mid_run_loses_nothing(cats, tmp_path, local_run, cluster):
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
            cats,
            tmp_path / "cats.db",
            tmp_path / "thumbs",
            dask=cluster.scheduler_address,
            on_progress=kill_the_busiest_worker_once,
            commit_every=3,
        )
    [(pid, held)] = killed
    assert held > 0  # it died with tasks of this run still to do
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert summary.errors == 0
    assert snapshot(tmp_path / "cats.db", TABLES) == local_run


def can_hide_folders() -> bool:
    """Whether this process may give a child its own view of the file system
    (root, with util-linux's unshare)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--mount", "--propagation", "private", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


@pytest.mark.skipif(not can_hide_folders(), reason="needs root and unshare")
def test_files_a_worker_cannot_see_are_recorded_and_the_rest_are_kept(cats, tmp_path):
    """The one worker runs where one folder of SOURCE is not mounted (an empty
    file system lies over it), as on a machine without the share: the scan
    here sees those files, the worker records why it could not read them."""
    hidden = sorted(folder for folder in cats.iterdir() if folder.is_dir())[0]
    unseen = sorted(p.relative_to(cats).as_posix() for p in hidden.rglob("*") if p.is_file())
    assert unseen
    with distributed.LocalCluster(
        n_workers=0, scheduler_port=0, dashboard_address=":0", processes=True
    ) as scheduler:
        worker = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
            + ['mount -t tmpfs none "$1" && shift && exec "$@"', "worker", str(hidden)]
            + [sys.executable, "-m", "distributed.cli.dask_worker"]
            + [scheduler.scheduler_address, "--nthreads", "1", "--no-dashboard", "--no-nanny"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            summary = ingest(
                cats, tmp_path / "cats.db", tmp_path / "thumbs", dask=scheduler.scheduler_address
            )
        finally:
            worker.terminate()
            worker.wait(30)
    db = tmp_path / "cats.db"
    assert summary.errors == len(unseen)
    errors = rows(db, "select path, stage, error from errors order by path")
    assert [path for path, _, _ in errors] == unseen
    assert all(stage == "read" and "No such file" in error for _, stage, error in errors)
    read = rows(db, "select count(*) from files where image_id is not null")[0][0]
    assert read == summary.files - len(unseen) > 0


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


@pytest.mark.skipif(not can_hide_folders(), reason="needs root and unshare")
def test_a_read_only_install_compiles_into_a_private_cache(tmp_path):
    """A worker whose installed code and home folder are read-only (a shared
    install, a container's user): numba cannot cache beside the code or in
    ~/.cache, so it caches under the temporary folder and still compiles."""
    import ingest

    package, home = Path(ingest.__file__).parent, tmp_path / "home"
    home.mkdir()
    read_only = (
        'for f in "$1" "$2"; do mount --bind "$f" "$f" && mount -o remount,bind,ro "$f"; done'
    )
    script = (
        "import os, ingest.jit\n"
        "print(os.environ['NUMBA_CACHE_DIR'])\n"
        "from ingest.pixels import warm_up\n"
        "warm_up()\n"
    )
    env = {key: value for key, value in os.environ.items() if "CACHE" not in key}
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
        + [f'{read_only} && shift 2 && exec "$@"', "worker", str(package), str(home)]
        + [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(home)},
    )
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    assert folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith("cattags-numba-")
    assert any(folder.rglob("*.nbi"))  # numba's cache index files


def test_an_address_dask_cannot_read_is_a_clear_error(cats):
    result = CliRunner().invoke(cli, ["ingest", str(cats), "-s", "--dask", "nonsense"])
    assert result.exit_code == 1
    assert "'nonsense' is not a Dask scheduler address" in result.output
    assert "Traceback" not in result.output
