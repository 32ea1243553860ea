"""`cattags sort` moves thumbnails by rule; `cattags stats` reports."""

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from ingest.cli import cli
from ingest.errors import FolderOutsideRoot
from ingest.moves import safe_folder
from ingest.pipeline import ingest

from .conftest import rows


@pytest.fixture
def cats_db(cats):
    ingest(cats, workers=1)
    return cats / "cats.db"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_dry_run_moves_nothing(cats_db):
    output = invoke("sort", "--db", cats_db, "--by", "size", "--dry-run")
    count = rows(cats_db, "select count(*) from images")[0][0]
    assert f"would move {count} thumbnails" in output
    assert rows(cats_db, "select count(*) from moves") == [(0,)]
    assert rows(cats_db, "select count(*) from images where folder != ''") == [(0,)]


def test_sort_by_ham_moves_files_logs_and_tags_without_numbers(cats_db):
    invoke("sort", "--db", cats_db, "--by", "ham")
    thumbs = cats_db.parent / "thumbs"
    for image_id, folder, distance, tags in rows(
        cats_db, "select id, folder, nearest_distance, tags from images"
    ):
        assert folder == f"by_ham/{distance:02d}"
        assert (thumbs / folder / f"{image_id}_.png").exists()
        assert not (thumbs / f"{image_id}_.png").exists()
        assert "by_ham" in json.loads(tags) and f"{distance:02d}" not in json.loads(tags)
    assert rows(cats_db, "select count(distinct actor) from moves") == [(1,)]


def test_sort_by_cluster_then_home_keeps_the_tags(cats_db):
    invoke("sort", "--db", cats_db, "--by", "cluster")
    grouped = rows(cats_db, "select id, cluster from images where cluster is not null")
    assert grouped
    assert all(
        rows(cats_db, "select folder from images where id = ?", [i]) == [(f"by_cluster/{c}",)]
        for i, c in grouped
    )
    invoke("sort", "--db", cats_db, "--by", "home")
    assert rows(cats_db, "select count(*) from images where folder != ''") == [(0,)]
    tagged = rows(cats_db, "select count(*) from image_tags where tag = 'by_cluster'")[0][0]
    assert tagged == len(grouped)


def test_stats_prints_counts_top_tags_and_histogram_and_plots(cats_db, tmp_path):
    output = invoke("stats", "--db", cats_db, "--plot", tmp_path / "plot.png")
    images = rows(cats_db, "select count(*) from images")[0][0]
    assert f"images: {images}" in output and "top tags:" in output
    histogram = [line for line in output.splitlines() if "#" in line]
    assert sum(int(line.split()[-1]) for line in histogram) == images
    with Image.open(tmp_path / "plot.png") as plot:
        assert plot.size == (640, 360)


@pytest.mark.parametrize(
    "folder, why",
    [
        ("../outside", "'..'"),
        ("a/../../b", "'..'"),
        ("/etc", "relative"),
        ("bad\x00name", "control"),
        ("tab\tname", "control"),
        ("x" * 256, "255 bytes"),
        ("escape", "outside the thumbnails root"),
        ("evil\u202egpj.png", "invisible"),  # a bidi override
        ("zero\u200bwidth", "invisible"),
        ("\ufeffbom", "invisible"),
        ("line\u2028sep", "line"),
        ("para\u2029sep", "paragraph"),
        ("a_file/inside", "is a file"),
        ("a_file", "is a file"),
    ],
)
def test_unsafe_folder_names_are_refused(tmp_path, folder, why):
    root = tmp_path / "thumbs"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path, target_is_directory=True)
    (root / "a_file").write_bytes(b"not a folder")
    with pytest.raises(FolderOutsideRoot, match=why):
        safe_folder(root, folder)


def test_safe_folder_names_are_normalised(tmp_path):
    assert safe_folder(tmp_path, " sleeping//tabby/./ ") == "sleeping/tabby"
    assert safe_folder(tmp_path, "") == ""
    assert safe_folder(tmp_path, "ünïcode/名前") == "ünïcode/名前"


def test_folder_names_are_nfc_so_one_cafe_is_one_folder(tmp_path):
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert safe_folder(tmp_path, decomposed) == safe_folder(tmp_path, composed) == composed


def test_a_colon_is_an_ordinary_character_on_posix(tmp_path):
    assert safe_folder(tmp_path, "a:b/C:d") == "a:b/C:d"
