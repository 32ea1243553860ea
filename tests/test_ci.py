"""The test run itself: skipped browser tests are loud, and fatal in CI."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def run_browser_tests(**env) -> subprocess.CompletedProcess:
    """The browser tests' first test, with Chromium nowhere to be found."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_browser.py", "-x"],
        cwd=ROOT,
        env={**os.environ, "CATTAGS_CHROMIUM": "/nowhere/chromium", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_skipped_browser_tests_are_announced_and_fail_a_ci_run():
    local = run_browser_tests(CATTAGS_REQUIRE_BROWSER="0")
    assert local.returncode == 0, local.stdout
    assert "BROWSER TESTS WERE SKIPPED" in local.stdout
    ci = run_browser_tests(CATTAGS_REQUIRE_BROWSER="1")
    assert ci.returncode == 1, ci.stdout
    assert "BROWSER TESTS WERE SKIPPED" in ci.stdout
