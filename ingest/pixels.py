"""Read a decoded picture's pixels in place, without copying them.

Pillow exports images through the Arrow C data interface (a stable, documented
ABI): one buffer of 1 byte per pixel for single-band modes, 4 bytes per pixel
otherwise. A numpy view of that buffer lets a compiled loop find each band's
extrema in one pass, about 3x faster than Pillow's histogram, which is the
other exact way. Whenever the export is not available (an older Pillow, an
unusual mode, storage not in one piece) callers fall back to Pillow.
"""

from __future__ import annotations

import ctypes

import numpy as np
from numba import njit
from PIL import Image

# Where each band lives in Pillow's storage, for the modes read here.
BAND_LANES: dict[str, tuple[int, ...]] = {
    "L": (0,),
    "RGB": (0, 1, 2),  # the fourth byte is padding
    "RGBA": (0, 1, 2, 3),
    "CMYK": (0, 1, 2, 3),
}
LANES = 64  # bytes compared per step: a multiple of 4 that vectorises well
ONE_BLOCK = 1 << 30  # bytes: Pillow keeps any picture up to this size in one piece


class _ArrowArray(ctypes.Structure):
    """struct ArrowArray of the Arrow C data interface."""


_ArrowArray._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowArray))),
    ("dictionary", ctypes.POINTER(_ArrowArray)),
    ("release", ctypes.c_void_p),
    ("private_data", ctypes.c_void_p),
]

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def keep_pictures_in_one_block() -> None:
    """Ask Pillow to store each picture in one piece (the same memory, one
    allocation instead of a chain of 16 MB blocks), so large photos can be
    read in place too. What the PILLOW_BLOCK_SIZE variable does at start-up."""
    core = Image.core
    if hasattr(core, "set_block_size") and core.get_block_size() < ONE_BLOCK:
        core.set_block_size(ONE_BLOCK)


def storage(img: Image.Image) -> tuple[np.ndarray, object] | None:
    """(bytes, owner): a read-only view of the picture's pixel storage and the
    object that keeps it alive (hold it while using the view); None if Pillow
    cannot export this picture."""
    if img.mode not in BAND_LANES or not hasattr(img, "__arrow_c_array__"):
        return None
    try:
        _schema, owner = img.__arrow_c_array__()
    except ValueError:  # rows not in one block
        return None
    array = _ArrowArray.from_address(_capsule_pointer(owner, b"arrow_array"))
    per_pixel = 1 if img.mode == "L" else 4
    if per_pixel == 4:  # a fixed-size list of 4 bytes: the bytes are its child
        if array.n_children != 1:
            return None
        array = array.children[0].contents
    if array.n_buffers != 2 or array.length < img.width * img.height * per_pixel:
        return None
    size = img.width * img.height * per_pixel
    address = array.buffers[1] + array.offset
    view = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address))
    view.flags.writeable = False
    return view, owner


@njit(nogil=True, cache=True)
def _lane_extrema(data):
    """Smallest and largest byte at each position modulo LANES (a compile-time
    constant, so the inner loop becomes vector instructions)."""
    low = np.full(LANES, 255, dtype=np.uint8)
    high = np.zeros(LANES, dtype=np.uint8)
    whole = data.shape[0] // LANES * LANES
    for start in range(0, whole, LANES):
        for lane in range(LANES):
            value = data[start + lane]
            low[lane] = min(low[lane], value)
            high[lane] = max(high[lane], value)
    for position in range(whole, data.shape[0]):
        lane = position - whole
        low[lane] = min(low[lane], data[position])
        high[lane] = max(high[lane], data[position])
    return low, high


def fast_extrema(img: Image.Image) -> tuple | None:
    """Equal to img.getextrema() for L, RGB, RGBA and CMYK pictures read in
    place; None when the picture cannot be read that way."""
    found = storage(img)
    if found is None or img.width * img.height == 0:
        return None
    data, owner = found
    low, high = _lane_extrema(data)
    del owner  # the view is not used past this point
    per_pixel = 1 if img.mode == "L" else 4
    low = low.reshape(-1, per_pixel).min(axis=0)
    high = high.reshape(-1, per_pixel).max(axis=0)
    bands = tuple((int(low[lane]), int(high[lane])) for lane in BAND_LANES[img.mode])
    return bands[0] if len(bands) == 1 else bands


def warm_up() -> None:
    """Load the compiled loop (and Pillow's common plugins) in this process.

    Call it before forking workers: they inherit it instead of each paying
    numba's start-up (about half a second of CPU per process)."""
    Image.preinit()
    fast_extrema(Image.new("RGB", (1, 1)))
