"""The command line: demo data, help text, and the README documenting it."""

import re
from pathlib import Path

from click.testing import CliRunner

from ingest.cli import cli

README = Path(__file__).parent.parent / "README.md"


def test_demo_data_draws_the_requested_count_across_folders(tmp_path):
    result = CliRunner().invoke(cli, ["demo-data", str(tmp_path / "d"), "--count", "25"])
    assert result.exit_code == 0, result.output
    pictures = [p for p in (tmp_path / "d").rglob("*") if p.is_file()]
    assert len(pictures) == 25
    assert len({p.parent for p in pictures}) >= 3
    assert "25 pictures" in result.output


def test_demo_data_is_seeded(tmp_path):
    for name in ("a", "b"):
        CliRunner().invoke(cli, ["demo-data", str(tmp_path / name), "--count", "12"])
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a
    )


def test_every_command_is_documented_in_the_readme():
    readme = README.read_text()
    for name, command in cli.commands.items():
        assert f"cattags {name}" in readme, name
        for option in command.params:
            if getattr(option, "hidden", True) or not option.opts[0].startswith("--"):
                continue
            assert option.opts[0] in readme, (name, option.opts[0])


def test_readme_opens_with_the_two_quick_start_commands():
    readme = README.read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^make (\w+)$", quick, re.M) == ["demo", "test"]


def test_ingest_of_a_missing_folder_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output
