"""The command examples of the README and of docs/, run on the demo data:
they cannot drift from what the commands do."""

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import cli

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
# The README first, then every page of docs/, in name order (but cli.md:
# the commands' own help, whose examples name a reader's files).
DOCUMENTS = [README] + [
    page.read_text() for page in sorted((ROOT / "docs").glob("*.md")) if page.name != "cli.md"
]
# Examples that need the network, a home folder or a Dask scheduler (tests/test_dask.py
# runs one), and so are not run here.
NOT_RUN = ("cattags fetch https://", "cattags fetch --from-file", "--thumbs ~/", "--dask tcp://")


def examples() -> list[str]:
    """Every `cattags ...` line of the code blocks of the README and docs/."""
    blocks = [
        block for text in DOCUMENTS for block in re.findall(r"^```\n(.*?)^```$", text, re.M | re.S)
    ]
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("cattags ")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The README's demo: 200 pictures drawn with the default seed, in `cats/`."""
    root = tmp_path_factory.mktemp("readme")
    result = CliRunner().invoke(cli, ["demo-data", str(root / "cats"), "--count", "200"])
    assert result.exit_code == 0, result.output
    return root


def run(line: str, where: Path):
    """One README line, run with its paths inside `where`."""
    # Output redirection and pipes are the shell's: the command is what comes first.
    args = shlex.split(re.split(r" [>|] ", line)[0])[1:]
    paths = {"./cats": "cats", "cats/cats.db": "cats/cats.db", "cats.db": "cats.db"}
    args = [str(where / paths[a]) if a in paths else a for a in args]
    args = [str(where / a) if a.endswith(".png") or a.startswith("demo/") else a for a in args]
    return CliRunner().invoke(cli, args)


def test_the_ingest_summary_in_the_readme_is_what_the_demo_prints(demo):
    printed = re.search(r"It prints two lines, for example\n\n```\n(.*?)```", README, re.S)
    result = CliRunner().invoke(cli, ["ingest", str(demo / "cats"), "-s"])
    assert result.exit_code == 0, result.output
    assert result.output == printed.group(1)


def test_every_command_example_in_the_readme_runs(demo, tmp_path):
    where = tmp_path / "copy"
    shutil.copytree(demo, where)
    assert CliRunner().invoke(cli, ["ingest", str(where / "cats"), "-s"]).exit_code == 0
    ran = []
    for line in examples():
        if any(part in line for part in NOT_RUN):
            continue
        result = run(line, where)
        assert result.exit_code == 0, (line, result.output)
        ran.append(line.split()[1])
    assert {"ingest", "pairs", "duplicates", "sort", "stats", "sync", "demo-data"} <= set(ran)
