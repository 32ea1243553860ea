"""Read a decoded picture's pixels in place, without copying them.

Pillow exports images through the Arrow C data interface (a stable, documented
ABI): one buffer of 1 byte per pixel for single-band modes, 4 bytes per pixel
otherwise. A numpy view of that buffer lets one compiled pass find each band's
extrema (exact, about 3x faster than Pillow's histogram) and, for RGB and L
photos, the box reduction a thumbnail starts from (what Pillow's `reduce`
does), so the full-size picture is read once for both. Whenever the export is
not available (an older Pillow, an unusual mode, storage not in one piece)
callers fall back to Pillow.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .jit import njit
from .thumbnails import REDUCING_GAP

# Where each band lives in Pillow's storage, for the modes read here.
BAND_LANES: dict[str, tuple[int, ...]] = {
    "L": (0,),
    "RGB": (0, 1, 2),  # the fourth byte is padding
    "RGBA": (0, 1, 2, 3),
    "CMYK": (0, 1, 2, 3),
}
LANES = 64  # bytes compared per step: a multiple of 4 that vectorises well
ONE_BLOCK = 1 << 30  # bytes: Pillow keeps any picture up to this size in one piece
# Pillow's RGB to L weights (0.299, 0.587, 0.114) in 16-bit fixed point, and
# the half that rounds: tests compare every colour with Pillow's own convert.
L_RED, L_GREEN, L_BLUE, L_HALF = 19595, 38470, 7471, 0x8000


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
    """(bytes, owner): a view of the picture's pixel storage (read it, never
    write it) and the object that keeps it alive (hold it while using the
    view); None if Pillow cannot export this picture."""
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
    # Left writeable only because numba compiles loops over read-only arrays
    # to slower code; nothing here ever writes to it.
    view = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address))
    return view, owner


@njit(nogil=True, cache=True)
def _survey(data, width, height, per_pixel, factor_x, factor_y, gray):
    """Lane extrema of every byte, and the sums of factor_x x factor_y blocks
    of pixels (edge blocks may be smaller), in one pass over the rows.
    Factors of 0 mean extrema only. Unless `gray` is empty, an RGB picture's
    grey levels go into it, one byte a pixel, as Pillow's convert("L") makes
    them (ITU-R 601-2 luma in 16-bit fixed point, rounded)."""
    line = width * per_pixel
    low = np.full(LANES, 255, dtype=np.uint8)
    high = np.zeros(LANES, dtype=np.uint8)
    summing = factor_x > 0 and factor_y > 0
    out_w = (width + factor_x - 1) // factor_x if summing else 0
    out_h = (height + factor_y - 1) // factor_y if summing else 0
    sums = np.zeros((out_h, out_w * per_pixel), dtype=np.uint32)
    column = np.zeros(line if summing else 0, dtype=np.uint16)  # < 258 rows of bytes
    rows_in_column = 0
    whole = line // LANES * LANES  # rows start at lane 0: a multiple of 4 bytes
    for y in range(height):
        row = data[y * line : (y + 1) * line]
        for start in range(0, whole, LANES):
            for lane in range(LANES):
                low[lane] = min(low[lane], row[start + lane])
                high[lane] = max(high[lane], row[start + lane])
        for position in range(whole, line):
            low[position - whole] = min(low[position - whole], row[position])
            high[position - whole] = max(high[position - whole], row[position])
        if gray.size:  # while the row is in the L1 cache
            grey_row = gray[y * width : (y + 1) * width]
            for x in range(width):
                pixel = x * 4
                level = (
                    np.uint32(row[pixel]) * np.uint32(L_RED)
                    + np.uint32(row[pixel + 1]) * np.uint32(L_GREEN)
                    + np.uint32(row[pixel + 2]) * np.uint32(L_BLUE)
                    + np.uint32(L_HALF)
                )
                grey_row[x] = np.uint8(level >> np.uint32(16))
        if not summing:
            continue
        for position in range(line):  # the row is in the L1 cache by now
            column[position] += row[position]
        rows_in_column += 1
        if (y + 1) % factor_y == 0 or y == height - 1 or rows_in_column == 257:
            out = sums[y // factor_y]
            for x in range(width):
                target = (x // factor_x) * per_pixel
                for band in range(per_pixel):
                    out[target + band] += column[x * per_pixel + band]
            column[:] = 0
            rows_in_column = 0
    return low, high, sums


@njit(nogil=True, cache=True)
def _square_sums(data, side, count):
    """Sums of the count x count equal blocks of a side x side 8-bit picture."""
    block = side // count
    sums = np.zeros((count, count), dtype=np.int64)
    column = np.zeros(side, dtype=np.uint32)
    for block_row in range(count):
        column[:] = 0
        for y in range(block_row * block, (block_row + 1) * block):
            row = data[y * side : (y + 1) * side]
            for x in range(side):
                # Same-width types throughout, so the loop becomes vector code.
                column[x] += np.uint32(row[x])
        for block_column in range(count):
            total = 0  # 64 bits: a block may hold more than 2^24 pixels
            for x in range(block_column * block, (block_column + 1) * block):
                total += np.int64(column[x])
            sums[block_row, block_column] = total
    return sums


def square_block_sums(gray: Image.Image, count: int) -> np.ndarray:
    """Exact sums of count x count equal blocks of a square L picture whose side
    is a multiple of count, read in place where Pillow allows it."""
    found = storage(gray)
    data = np.asarray(gray).ravel() if found is None else found[0]
    sums = _square_sums(data, gray.width, count)
    del found  # the storage is not read past this point
    return sums


@dataclass
class Survey:
    """What one pass over a picture's pixels found."""

    extrema: tuple  # equal to img.getextrema()
    reduced: Image.Image | None  # the picture shrunk by whole factors (RGB and L only)
    factors: tuple[int, int]  # (x, y): how many pixels each reduced pixel averages
    gray: Image.Image | None = None  # equal to img.convert("L"), when asked for (RGB only)


def survey(
    img: Image.Image, box: tuple[int, int] | None = None, gray: bool = False
) -> Survey | None:
    """Extrema of an L, RGB, RGBA or CMYK picture read in place and, given the
    size `box` a thumbnail will have, the box reduction Pillow's
    `resize(..., reducing_gap=2.0)` would start from; with `gray`, an RGB
    picture's convert("L") made in the same pass (whash's first step: the
    picture is then read from memory once, not twice). None when the picture
    cannot be read in place."""
    found = storage(img)
    if found is None or img.width * img.height == 0:
        return None
    data, owner = found
    per_pixel = 1 if img.mode == "L" else 4
    making_gray = gray and img.mode == "RGB"
    levels = np.empty(img.width * img.height if making_gray else 0, dtype=np.uint8)
    factors = (1, 1)
    if box is not None and img.mode in ("L", "RGB"):
        factors = (
            max(1, int(img.width / box[0] / REDUCING_GAP)),
            max(1, int(img.height / box[1] / REDUCING_GAP)),
        )
    reducing = factors != (1, 1)
    low, high, sums = _survey(
        data, img.width, img.height, per_pixel, *(factors if reducing else (0, 0)), levels
    )
    del data, owner  # the storage is not read past this point
    low = low.reshape(-1, per_pixel).min(axis=0)
    high = high.reshape(-1, per_pixel).max(axis=0)
    bands = tuple((int(low[lane]), int(high[lane])) for lane in BAND_LANES[img.mode])
    reduced = None
    if reducing:
        reduced = _averages(
            sums=sums, width=img.width, height=img.height, per_pixel=per_pixel, factors=factors
        )
    grey_picture = None
    if making_gray:  # shares `levels`, which it keeps alive
        grey_picture = Image.frombuffer("L", img.size, levels, "raw", "L", 0, 1)
    return Survey(
        extrema=bands[0] if len(bands) == 1 else bands,
        reduced=reduced,
        factors=factors,
        gray=grey_picture,
    )


def _averages(sums, width, height, per_pixel, factors) -> Image.Image:
    """The block sums as a picture of rounded block means."""
    fx, fy = factors
    cols = np.minimum(fx, width - np.arange(0, width, fx))  # pixels in each block column
    rows = np.minimum(fy, height - np.arange(0, height, fy))
    counts = (rows[:, None] * np.repeat(cols, per_pixel)[None, :]).astype(np.uint32)
    means = ((sums + counts // 2) // counts).astype(np.uint8)
    size = (len(cols), len(rows))
    if per_pixel == 1:
        return Image.frombytes("L", size, means.tobytes())
    return Image.frombytes("RGB", size, means.tobytes(), "raw", "RGBX")


def fast_extrema(img: Image.Image) -> tuple | None:
    """Equal to img.getextrema() for L, RGB, RGBA and CMYK pictures read in
    place; None when the picture cannot be read that way."""
    found = survey(img)
    return None if found is None else found.extrema


def warm_up() -> None:
    """Load the compiled loop (and Pillow's common plugins) in this process.

    Call it before forking workers: they inherit it instead of each paying
    numba's start-up (about half a second of CPU per process)."""
    Image.preinit()
    fast_extrema(Image.new("RGB", (1, 1)))
    square_block_sums(Image.new("L", (8, 8)), 8)
