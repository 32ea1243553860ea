"""Which module may import which: the rules of ingest/__init__.py's map,
checked on the source (a rule broken is a test failing, not a docstring
gone stale)."""

import ast
import sys
from pathlib import Path

import ingest

ROOT = Path(ingest.__file__).parent.parent


def imports_of(path: Path) -> set[str]:
    """Every module a source file imports, relative imports made absolute."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            found.add(module)
            found |= (
                {f"{module}.{alias.name}" for alias in node.names} if not node.module else set()
            )
    return found


def test_the_core_imports_only_the_standard_library():
    core = ROOT / "ingest" / "identity.py"
    outside = {
        name for name in imports_of(core) if name.split(".")[0] not in sys.stdlib_module_names
    }
    assert outside == set(), outside


def test_the_shared_names_are_written_once():
    """The id and thumbnail-name patterns live in the core only."""
    pattern = "[0-9a-f]{16}"
    holders = [
        path.relative_to(ROOT).as_posix()
        for folder in ("ingest", "datasette_cattags")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if pattern in path.read_text()
    ]
    assert holders == ["ingest/identity.py"]


def test_the_walker_sees_relative_imports():
    found = imports_of(ROOT / "datasette_cattags" / "cells.py")
    assert "ingest.identity" in found and "datasette_cattags.detect" in found
