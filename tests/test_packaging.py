"""What the package declares matches what is checked."""

import re
import sys
from pathlib import Path

TOP = Path(__file__).parent.parent


def test_the_oldest_python_declared_is_the_one_linted_and_run():
    """setup.py, ruff's target and the interpreter agree: 3.11 (the code uses
    datetime.UTC and other 3.11 names; CI runs 3.11)."""
    declared = re.search(r'python_requires=">=3\.(\d+)"', (TOP / "setup.py").read_text())
    target = re.search(r'target-version = "py3(\d+)"', (TOP / "ruff.toml").read_text())
    assert declared and target and declared.group(1) == target.group(1) == "11"
    assert sys.version_info >= (3, int(declared.group(1)))
