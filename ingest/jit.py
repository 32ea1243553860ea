"""numba, with its on-disk cache of compiled loops in a folder this process
may write.

numba keeps compiled code beside the source (`__pycache__`) or else in the
user's cache folder, and refuses to compile a cached function when it can
write to neither: a read-only install run by another user, such as a Dask
worker or a container's unprivileged account. Then the cache goes to a
private folder under the system's temporary folder instead. Import `njit`
from here, never from numba directly, so this runs first.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def writable(folder: Path) -> bool:
    """Whether `folder`, or the nearest existing folder above it, takes new files."""
    while not os.path.exists(folder) and folder != folder.parent:  # False when forbidden too
        folder = folder.parent
    return os.access(folder, os.W_OK | os.X_OK)


def choose_cache_folder() -> None:
    """Set NUMBA_CACHE_DIR when neither of numba's own places is writable."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    beside_source = Path(__file__).parent / "__pycache__"
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "numba"
    if writable(beside_source) or writable(user_cache):
        return
    own = Path(tempfile.gettempdir()) / f"cattags-numba-{os.getuid()}"
    own.mkdir(mode=0o700, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(own)


choose_cache_folder()

from numba import njit, types  # noqa: E402 - after the cache folder is chosen
from numba.extending import intrinsic  # noqa: E402

__all__ = ["intrinsic", "njit", "types"]
