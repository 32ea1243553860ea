"""Which module may import which: the layers of ingest/__init__.py's map,
checked on the source, so a rule broken is a test failing, not a docstring
gone stale. Imports inside functions count as much as those at the top."""

import ast
import re
from pathlib import Path

import ingest

ROOT = Path(ingest.__file__).parent.parent
LAYERS = ("core", "reading", "storing", "searching", "commands")
# What each layer may import, besides itself.
ALLOWED = {
    "core": set(),
    "reading": {"core"},
    "storing": {"core"},
    "searching": {"core", "reading", "storing"},
    "commands": {"core", "reading", "storing", "searching"},
    "plugin": {"core", "storing", "searching"},
}


def layer_map() -> dict[str, str]:
    """Each ingest module's layer, as the package docstring's headings say."""
    layers, current = {}, None
    for line in ingest.__doc__.splitlines():
        heading = next((name for name in LAYERS if line.lower().startswith(f"the {name}")), None)
        heading = heading or next((name for name in LAYERS if line.lower().startswith(name)), None)
        if heading:
            current = heading
        elif current and line.startswith("    "):
            for name in re.findall(r"^ {4}(\w+)|\s{2,}(\w+) {2,}", line):
                name = "".join(name)
                layers[f"ingest.{name}"] = current
        elif not line.strip():
            continue
        else:
            current = None
    return layers


def imports_of(path: Path) -> set[str]:
    """Every project module a source file imports, relative imports made absolute."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            found |= {f"{module}.{alias.name}" for alias in node.names} | {module}
    return {name for name in found if name.split(".")[0] in ("ingest", "datasette_cattags")}


def modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): path
        for folder in ("ingest", "datasette_cattags")
        for path in sorted((ROOT / folder).glob("*.py"))
        if path.stem not in ("__init__", "__main__")
    }


def layer_of(module: str, layers: dict[str, str]) -> str | None:
    if module.startswith("datasette_cattags"):
        return "plugin"
    return layers.get(module)


def test_every_module_has_a_layer():
    layers = layer_map()
    assert set(LAYERS) == set(layers.values())
    unplaced = [m for m in modules() if layer_of(m, layers) is None]
    assert unplaced == []
    assert not set(layers) - set(modules()), "the map names a module that is not there"


def test_each_layer_imports_only_what_its_heading_allows():
    layers = layer_map()
    known = modules()
    broken = []
    for module, path in known.items():
        mine = layer_of(module, layers)
        for imported in sorted(imports_of(path)):
            if imported not in known or imported == module:
                continue  # a package, or a name inside a module (counted as the module)
            theirs = layer_of(imported, layers)
            if theirs != mine and theirs not in ALLOWED[mine]:
                broken.append(f"{module} ({mine}) imports {imported} ({theirs})")
    assert broken == []


def test_the_core_imports_nothing_else_of_the_project():
    layers = layer_map()
    core = [m for m, layer in layers.items() if layer == "core"]
    assert "ingest.core" in core
    for module in core:
        outside = {
            i for i in imports_of(modules()[module]) if i in modules() and layers.get(i) != "core"
        }
        assert outside == set(), module


def test_the_shared_names_are_written_once():
    """The id and thumbnail-name patterns live in the core only."""
    holders = [
        path.relative_to(ROOT).as_posix()
        for path in modules().values()
        if "[0-9a-f]{16}" in path.read_text()
    ]
    assert holders == ["ingest/core.py"]


def test_the_checks_see_a_broken_rule(tmp_path):
    """The walker resolves relative imports, and a reading module that
    imported storing would be reported."""
    found = imports_of(ROOT / "datasette_cattags" / "cells.py")
    assert "ingest.core" in found and "datasette_cattags.detect" in found
    layers = layer_map()
    assert layers["ingest.analyse"] == "reading" and layers["ingest.store"] == "storing"
    assert "storing" not in ALLOWED["reading"] and "reading" not in ALLOWED["plugin"]


# numba's compiled loops (kernels.py, and any @njit function) are called
# positionally, as compiled code is.
POSITIONAL_ALLOWED = {"ingest.kernels"}


def parameters(node: ast.AST) -> list[str] | None:
    """The parameters a call of this definition names: a function's (less
    self), or a dataclass's fields; None for anything else."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        if any("njit" in ast.unparse(decorator) for decorator in node.decorator_list):
            return None
        names = [arg.arg for arg in node.args.args]
        return names[1:] if names[:1] in (["self"], ["cls"]) else names
    if isinstance(node, ast.ClassDef) and any(
        "dataclass" in ast.unparse(decorator) for decorator in node.decorator_list
    ):
        return [
            statement.target.id
            for statement in node.body
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
        ]
    return None


def test_calls_with_more_than_three_arguments_name_them():
    """A call of one of our functions (or dataclasses) that takes more than
    three parameters names its arguments: `move(db=..., root=...)`."""
    trees = {name: ast.parse(path.read_text()) for name, path in modules().items()}
    signatures: dict[str, list[list[str]]] = {}
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if name not in POSITIONAL_ALLOWED and (found := parameters(node)) is not None:
                signatures.setdefault(node.name, []).append(found)
    wide = {name for name, found in signatures.items() if all(len(p) > 3 for p in found)}
    positional = []
    for name, tree in trees.items():
        if name in POSITIONAL_ALLOWED:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or len(node.args) <= 3:
                continue
            called = node.func
            callee = (
                called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", None)
            )
            if isinstance(called, ast.Attribute) and ast.unparse(called.value) != "self":
                continue  # another object's method: not ours to name
            if callee in wide:
                positional.append(f"{name}:{node.lineno} {callee}()")
    assert positional == []
