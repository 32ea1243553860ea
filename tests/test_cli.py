"""The command line: demo data, help text, and the README documenting it."""

import fcntl
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest import store
from ingest.cli import cli

from .conftest import rows

README = Path(__file__).parent.parent / "README.md"


def test_demo_data_draws_the_requested_count_across_folders(tmp_path):
    result = CliRunner().invoke(cli, ["demo-data", str(tmp_path / "d"), "--count", "25"])
    assert result.exit_code == 0, result.output
    pictures = [p for p in (tmp_path / "d").rglob("*") if p.is_file()]
    assert len(pictures) == 25
    assert len({p.parent for p in pictures}) >= 3
    assert "25 pictures" in result.output


def test_demo_data_is_seeded(tmp_path):
    for name, seed in (("a", "42"), ("b", "42"), ("c", "43")):
        result = CliRunner().invoke(
            cli, ["demo-data", str(tmp_path / name), "--count", "12", "--seed", seed]
        )
        assert result.exit_code == 0, result.output
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert len(files_a) == 12 and files_a == files_b
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a
    )
    other = {p.read_bytes() for p in (tmp_path / "c").rglob("*.*")}
    assert other != {(tmp_path / "a" / f).read_bytes() for f in files_a}  # the seed matters


def test_every_command_has_its_section_in_the_command_guide():
    guide = (README.parent / "docs" / "commands.md").read_text()
    for name in cli.commands:
        assert f"## `cattags {name}" in guide, name


def test_readme_opens_with_the_two_quick_start_commands():
    readme = README.read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^make (\w+)$", quick, re.M) == ["demo", "test"]


def test_ingest_of_a_missing_folder_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_ingest_passes_neighbours_and_rule_and_refuses_a_bad_rule(cats):
    result = CliRunner().invoke(
        cli, ["ingest", str(cats), "-s", "--neighbours", "3", "--rule", "phash <= 8"]
    )
    assert result.exit_code == 0, result.output
    db = cats / "cats.db"
    settings = dict(rows(db, "select key, value from settings"))
    assert settings["neighbours"] == "3" and settings["rule"] == "phash<=8"
    assert rows(db, "select max(rank) from neighbours") == [(2,)]
    assert rows(db, "select distinct rule from pairs where near_duplicate = 1") in (
        [],
        [("phash<=8",)],
    )
    bad = CliRunner().invoke(cli, ["ingest", str(cats), "-s", "--rule", "nonsense"])
    assert bad.exit_code == 2 and "cannot read the rule" in bad.output
    assert "Traceback" not in bad.output


def test_an_empty_folder_says_no_pictures_and_writes_nothing(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path), "-s"])
    assert result.exit_code == 1 and "no pictures found" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("command", ["stats", "sync", "pairs", "sort", "ingest"])
def test_a_database_of_another_program_is_refused_untouched(tmp_path, command, cats):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("create table invoices (id integer primary key, total real)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    args = {"sort": ["--by", "size"], "ingest": [str(cats), "-s"]}.get(command, [])
    result = CliRunner().invoke(cli, [command, "--db", str(other), *args])
    assert result.exit_code == 1, result.output
    assert "not a cattags database" in result.output and "Traceback" not in result.output
    assert other.read_bytes() == before


def test_a_second_ingest_on_the_same_database_stops_with_a_clear_message(cats):
    db = cats / "cats.db"
    CliRunner().invoke(cli, ["ingest", str(cats), "-s"])
    with open(db, "rb") as handle:  # what a running ingest holds
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = CliRunner().invoke(cli, ["ingest", str(cats), "-s"])
    assert result.exit_code == 1 and "another cattags ingest is writing" in result.output
    assert "Traceback" not in result.output
    again = CliRunner().invoke(cli, ["ingest", str(cats), "-s"])  # the lock went with its holder
    assert again.exit_code == 0, again.output


def test_a_database_locked_too_long_is_a_clear_message(cats, monkeypatch):
    CliRunner().invoke(cli, ["ingest", str(cats), "-s"])
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 50)
    writer = sqlite3.connect(cats / "cats.db")
    writer.execute("BEGIN IMMEDIATE")  # Datasette saving a move, say
    try:
        result = CliRunner().invoke(cli, ["sort", "--db", str(cats / "cats.db"), "--by", "size"])
    finally:
        writer.rollback()
        writer.close()
    assert result.exit_code == 1 and "locked by another program" in result.output
    assert "Traceback" not in result.output


def test_a_full_disk_is_a_clear_message_and_the_next_run_carries_on(cats, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(small)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        command = [
            sys.executable,
            "-m",
            "ingest",
            "ingest",
            str(cats),
            "--db",
            str(small / "cats.db"),
            "--thumbs",
            str(small / "thumbs"),
            "-s",
            "--commit-every",
            "5",
        ]
        full = subprocess.run(command, capture_output=True, text=True)
        assert full.returncode == 1, full.stdout + full.stderr
        assert "disk is full" in full.stderr and "Traceback" not in full.stderr
        again = subprocess.run(command, capture_output=True, text=True)
        assert again.returncode == 1 and "disk is full" in again.stderr, again.stderr
        conn = sqlite3.connect(small / "cats.db")
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        conn.close()
        subprocess.run(["mount", "-o", "remount,size=50m", str(small)], check=True)
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        clean = tmp_path / "clean.db"
        subprocess.run([*command[:5], "--db", str(clean), "-s"], check=True)
        assert rows(small / "cats.db", "select id from images order by id") == rows(
            clean, "select id from images order by id"
        )
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_without_the_ingest_extra_ingest_and_pairs_say_how_to_install_it(cats, monkeypatch):
    from ingest import cli as commands

    monkeypatch.setattr(commands, "INGEST_EXTRA", ("numba", "no_such_module_here"))
    for args in (["ingest", str(cats)], ["pairs", "--db", str(cats / "cats.db")]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "pip install 'datasette-cattags[ingest]'" in result.output
        assert "no_such_module_here missing" in result.output
    assert not (cats / "cats.db").exists()  # refused before any work
