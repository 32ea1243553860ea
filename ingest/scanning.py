"""Walking a source folder: which files are pictures to read, in a stable order."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image


def picture_suffixes() -> frozenset[str]:
    """File suffixes of every format Pillow can open."""
    Image.init()
    return frozenset(
        suffix for suffix, fmt in Image.registered_extensions().items() if fmt in Image.OPEN
    )


@dataclass(frozen=True)
class SourceFile:
    """A file that looks like a picture."""

    path: Path
    relative: str
    bytes: int
    mtime: int  # nanoseconds


@dataclass(frozen=True)
class Skipped:
    """A file that is plainly not a picture (by its name)."""

    relative: str


@dataclass(frozen=True)
class ScanProblem:
    """A file or folder the walk could not use."""

    relative: str
    error: str


ScanItem = SourceFile | Skipped | ScanProblem


@dataclass(frozen=True)
class Excluded:
    """Paths a walk must skip; real paths are compared only when a name matches."""

    paths: set[str]
    names: set[str]

    def contains(self, entry: os.DirEntry) -> bool:
        return entry.name in self.names and os.path.realpath(entry.path) in self.paths


def iter_source_files(root: Path, exclude: frozenset[Path] = frozenset()) -> Iterator[ScanItem]:
    """Every file under root, sorted by name, skipping `exclude` and hidden names.

    Symbolic links are followed; a link that loops, or a folder reached twice,
    is reported as a ScanProblem instead of walking forever.
    """
    root = Path(root)
    suffixes = picture_suffixes()
    excluded = {os.path.realpath(path) for path in exclude}
    excluded_names = {Path(path).name for path in excluded}
    visited: set[tuple[int, int]] = set()
    top = root.stat()
    visited.add((top.st_dev, top.st_ino))
    yield from _walk(root, "", suffixes, Excluded(excluded, excluded_names), visited)


def _walk(
    folder: Path,
    prefix: str,
    suffixes: frozenset[str],
    excluded: Excluded,
    visited: set[tuple[int, int]],
) -> Iterator[ScanItem]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        yield ScanProblem(prefix or ".", f"cannot list the folder: {error.strerror}")
        return
    for entry in entries:
        relative = f"{prefix}{entry.name}"
        if entry.name.startswith("."):
            if not entry.is_dir(follow_symlinks=False):
                yield Skipped(relative)
            continue
        if excluded.contains(entry):
            continue
        try:
            info = os.stat(entry.path)  # follows links; a loop raises ELOOP
        except OSError as error:
            yield ScanProblem(relative, _stat_message(entry, error))
            continue
        if stat.S_ISDIR(info.st_mode):
            key = (info.st_dev, info.st_ino)
            if key in visited:
                yield ScanProblem(relative, "symlink loop: this folder was already walked")
                continue
            visited.add(key)
            yield from _walk(Path(entry.path), relative + "/", suffixes, excluded, visited)
        elif Path(entry.name).suffix.lower() not in suffixes:
            yield Skipped(relative)
        elif not stat.S_ISREG(info.st_mode):
            yield ScanProblem(relative, "not a regular file (a device, pipe or socket)")
        else:
            yield SourceFile(Path(entry.path), relative, info.st_size, info.st_mtime_ns)


def _stat_message(entry: os.DirEntry, error: OSError) -> str:
    if entry.is_symlink():
        if error.errno == errno.ELOOP:
            return "symlink loop: the link points back to itself"
        return f"broken symlink: {error.strerror}"
    return f"cannot read the file: {error.strerror}"
