import os
import shutil
import sqlite3
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest.demo import write_demo_pictures

DEMO_COUNT = 40  # enough for shared identities and every folder, fast to ingest


@pytest.fixture(scope="session")
def demo_pictures(tmp_path_factory) -> Path:
    """A seeded set of demo pictures, drawn once per session (read-only)."""
    root = tmp_path_factory.mktemp("demo") / "cats"
    write_demo_pictures(root, count=DEMO_COUNT, seed=7, max_side=400)
    return root


def writable_copy(source: Path, folder: Path) -> Path:
    """A copy of the folder `source` inside `folder`, under the same name,
    for one test (or module) to change."""
    target = folder / source.name
    shutil.copytree(source, target)
    return target


@pytest.fixture
def cats(demo_pictures, tmp_path) -> Path:
    """A private, writable copy of the demo pictures."""
    return writable_copy(demo_pictures, tmp_path)


@contextmanager
def tmpfs(folder: Path, options: str = "size=20m"):
    """A small file system mounted at `folder` for the block (the test is
    skipped where mounting is not allowed: it needs root)."""
    folder.mkdir(exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]).returncode:
        pytest.skip("cannot mount a file system here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def rows(db_path: Path, sql: str, params=()) -> list[tuple]:
    """Run a query on a database file and return every row."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def snapshot(db_path: Path, queries: dict[str, str]) -> dict[str, list]:
    """{name: every row of its query}, to compare two databases."""
    conn = sqlite3.connect(db_path)
    try:
        return {name: conn.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        conn.close()


# Browser tests skipped (no chromium) must not pass for a tested gallery:
# a loud line at the end of every run, and a failing run in CI, which sets
# CATTAGS_REQUIRE_BROWSER=1 (.ci/run).
BROWSER_TESTS = "tests/test_browser.py"
REQUIRE_BROWSER = "CATTAGS_REQUIRE_BROWSER"


def skipped_browser_tests(terminalreporter) -> int:
    reports = terminalreporter.stats.get("skipped", [])
    return sum(1 for report in reports if report.nodeid.startswith(BROWSER_TESTS))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = skipped_browser_tests(terminalreporter)
    if skipped:
        terminalreporter.write_sep(
            "!",
            f"{skipped} BROWSER TESTS WERE SKIPPED: the gallery was NOT tested in a browser"
            " (install Debian's chromium: apt-get install chromium)",
            red=True,
            bold=True,
        )


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and os.environ.get(REQUIRE_BROWSER) == "1" and skipped_browser_tests(reporter):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
