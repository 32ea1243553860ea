"""What the package declares matches what is checked."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

TOP = Path(__file__).parent.parent


def test_the_oldest_python_declared_is_the_one_linted_and_run():
    """setup.py, ruff's target and the interpreter agree: 3.11 (the code uses
    datetime.UTC and other 3.11 names; CI runs 3.11)."""
    declared = re.search(r'python_requires=">=3\.(\d+)"', (TOP / "setup.py").read_text())
    target = re.search(r'target-version = "py3(\d+)"', (TOP / "ruff.toml").read_text())
    assert declared and target and declared.group(1) == target.group(1) == "11"
    assert sys.version_info >= (3, int(declared.group(1)))


SHIPPED = [  # every template and static file (the ES modules import each other)
    *(
        path.relative_to(TOP).as_posix()
        for folder in ("templates/cattags", "static")
        for path in sorted((TOP / "datasette_cattags" / folder).iterdir())
    ),
    "ingest/cli.py",
]


def test_the_built_wheel_ships_the_templates_static_files_and_entry_points(tmp_path):
    """Built as pip builds it (the pyproject build system, isolated), from a
    copy of the files git tracks."""
    source = tmp_path / "source"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=TOP, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        if name.startswith(("ingest/", "datasette_cattags/")) or "/" not in name:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TOP / name, source / name)
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
    )
    (wheel,) = out.glob("datasette_cattags-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in SHIPPED:
        assert name in names, name
    meta = next(n for n in names if n.endswith("entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(meta).decode()
    assert (
        "cattags = ingest.cli:cli" in entry_points and "cattags = datasette_cattags" in entry_points
    )
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    assert b"Provides-Extra: ingest" in metadata and b"Requires-Python: >=3.11" in metadata


def test_the_module_map_in_ingest_names_every_module():
    """ingest/__init__.py says which module owns what: it must match the tree."""
    import ingest

    named = set(re.findall(r"^ {4}(\w+) ", ingest.__doc__, re.M))
    named |= set(re.findall(r" {2,}(\w+) {2}", ingest.__doc__))
    modules = {p.stem for p in (TOP / "ingest").glob("*.py")} - {"__init__", "__main__"}
    assert modules <= named, modules - named
    assert named - modules <= {"the"}, named - modules
