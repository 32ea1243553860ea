"""Walking a source folder: which files are pictures to read, in a stable order."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .files import raw_bytes, storable

# The suffixes of every format Pillow (13) can open, written out: working
# them out (`picture_suffixes`) imports every Pillow plugin, ~65 ms of each
# run. tests/test_ingest.py checks the list against the installed Pillow. A
# file with a listed suffix that this Pillow cannot read is recorded in
# errors, like any unreadable picture.
PICTURE_SUFFIXES = frozenset(
    """.apng .avif .avifs .blp .bmp .bufr .bw .cur .dcx .dds .dib .emf .eps .fit .fits .flc
    .fli .ftc .ftu .gbr .gif .grib .h5 .hdf .icb .icns .ico .iim .im .j2c .j2k .jfif .jp2 .jpc
    .jpe .jpeg .jpf .jpg .jpx .mpeg .mpg .mpo .msp .pbm .pcd .pcx .pfm .pgm .png .pnm .ppm .ps .psd
    .pxr .qoi .ras .rgb .rgba .sgi .tga .tif .tiff .vda .vst .webp .wmf .xbm .xpm""".split()
)


# HEIC/HEIF (the iPhone's pictures): read through pillow-heif, the `heif`
# extra. Scanned either way: without it, each file is recorded as an error
# that says what to install.
HEIF_SUFFIXES = frozenset(".heic .heics .heif .heifs .hif".split())
# Camera RAW files, read through rawpy (the `raw` extra), likewise.
RAW_SUFFIXES = frozenset(
    """.3fr .arw .cr2 .cr3 .crw .dcr .dng .erf .iiq .k25 .kdc .mef .mos .mrw .nef .nrw .orf .pef
    .raf .raw .rw2 .rwl .sr2 .srf .srw .x3f""".split()
)
SCANNED_SUFFIXES = PICTURE_SUFFIXES | HEIF_SUFFIXES | RAW_SUFFIXES

# Formats Pillow opens through another format's plugin: MPO (the
# multi-picture JPEGs of phones and 3D cameras) through JPEG's.
OPENED_BY_ANOTHER = {"MPO"}


def picture_suffixes() -> frozenset[str]:
    """File suffixes of every format the installed Pillow can open."""
    from PIL import Image

    Image.init()
    return frozenset(
        suffix
        for suffix, fmt in Image.registered_extensions().items()
        if fmt in Image.OPEN or fmt in OPENED_BY_ANOTHER
    )


@dataclass(frozen=True)
class SourceFile:
    """A file that looks like a picture."""

    path: Path
    relative: str  # relative to the source root, as stored (see `storable`)
    bytes: int
    mtime: int  # nanoseconds
    raw: bytes | None = None  # the exact relative path, when it is not UTF-8


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
    is reported as a ScanProblem instead of walking forever. The walk keeps
    its own stack, so folders nested thousands deep are fine.
    """
    root = Path(root)
    suffixes = SCANNED_SUFFIXES
    paths = {os.path.realpath(path) for path in exclude}
    excluded = Excluded(paths, {Path(path).name for path in paths})
    top = root.stat()
    visited: set[tuple[int, int]] = {(top.st_dev, top.st_ino)}
    # Each frame: the entries of one folder still to look at, next one last.
    stack: list[tuple[str, list[os.DirEntry]]] = []
    problem = _push(stack, str(root), "")
    if problem:
        yield problem
    while stack:
        prefix, entries = stack[-1]
        if not entries:
            stack.pop()
            continue
        entry = entries.pop()
        relative = f"{prefix}{entry.name}"
        item = _classify(
            entry=entry, relative=relative, suffixes=suffixes, excluded=excluded, visited=visited
        )
        if item == "folder":
            problem = _push(stack, entry.path, relative + "/")
            if problem:
                yield problem
        elif item is not None:
            yield item


def _push(stack: list, folder: str, prefix: str) -> ScanProblem | None:
    """Put a folder's entries on the stack, or say why it cannot be listed."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name, reverse=True)
    except OSError as error:
        return ScanProblem(storable(prefix) or ".", f"cannot list the folder: {error.strerror}")
    stack.append((prefix, entries))
    return None


def _classify(
    entry: os.DirEntry,
    relative: str,
    suffixes: frozenset[str],
    excluded: Excluded,
    visited: set[tuple[int, int]],
) -> ScanItem | str | None:
    """What one entry is: a scan item, "folder" to walk into, or None to ignore."""
    text = storable(relative)
    if entry.name.startswith("."):
        return None if entry.is_dir(follow_symlinks=False) else Skipped(text)
    if excluded.contains(entry):
        return None
    try:
        info = os.stat(entry.path)  # follows links; a loop raises ELOOP
    except OSError as error:
        return ScanProblem(text, _stat_message(entry, error))
    if stat.S_ISDIR(info.st_mode):
        key = (info.st_dev, info.st_ino)
        if key in visited:
            return ScanProblem(text, "symlink loop: this folder was already walked")
        visited.add(key)
        return "folder"
    if Path(entry.name).suffix.lower() not in suffixes:
        return Skipped(text)
    if not stat.S_ISREG(info.st_mode):
        return ScanProblem(text, "not a regular file (a device, pipe or socket)")
    return SourceFile(
        path=Path(entry.path),
        relative=text,
        bytes=info.st_size,
        mtime=info.st_mtime_ns,
        raw=raw_bytes(relative),
    )


def _stat_message(entry: os.DirEntry, error: OSError) -> str:
    if entry.is_symlink():
        if error.errno == errno.ELOOP:
            return "symlink loop: the link points back to itself"
        return f"broken symlink: {error.strerror}"
    return f"cannot read the file: {error.strerror}"
