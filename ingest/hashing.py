"""Perceptual hashes: an exact, fast whash plus phash and dhash.

imagehash's whash resizes the grayscale picture (Lanczos) to the largest power
of two not above its short side, removes the lowest Haar band and takes the
8x8 low band of a further Haar transform. With Haar filters that low band is,
up to a positive scale and the removed mean, the 64 block sums of the resized
picture, so each bit is "block sum above the median". Block sums of 8-bit
pixels are exact integers, which gives the same bits without any wavelet.

Only a tie at the median (the 32nd and 33rd smallest sums equal, as in flat or
synthetic pictures) leaves the answer to imagehash's floating-point rounding.
There we repeat imagehash's own wavelet steps, one 1/8 x 1/8 block at a time
(`whash_low_band`): the Haar steps never reach across a block until the last
three levels, so the floats are the same as imagehash's, bit for bit, in a
few MB instead of the ~3 GB imagehash needs for an 8192 px working picture.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .core import Hashes

HASH_SIZE = 8  # 8x8 bits: the 16-hex-digit hashes the thumbnail names use


# How a copy can differ from its original beyond what the hashes forgive: the
# seven other orientations of a picture (mirrored, turned, both), a part cut
# off, or a frame added. Each picture stores the hashes of these variants of
# itself, so a copy's plain hashes meet one of its original's variants.
# Each turn as an array operation (equal to Pillow's Transpose of the same
# name), with what a pair that meets through it is called.
TURNS = (
    (lambda a: a[:, ::-1], "mirrored"),  # FLIP_LEFT_RIGHT
    (lambda a: a[::-1, :], "mirrored"),  # FLIP_TOP_BOTTOM
    (lambda a: a[::-1, ::-1], "turned 180°"),  # ROTATE_180
    (lambda a: np.rot90(a, 1), "turned 90°"),  # ROTATE_90 (counter-clockwise)
    (lambda a: np.rot90(a, -1), "turned 90°"),  # ROTATE_270
    (lambda a: a.T, "turned 90°, mirrored"),  # TRANSPOSE
    (lambda a: a[::-1, ::-1].T, "turned 90°, mirrored"),  # TRANSVERSE
)
CROP = 0.05  # the share of a side a cropped variant leaves out


def one_side(share: float) -> tuple[tuple[float, float, float, float], ...]:
    """Boxes (left, top, right, bottom, as shares) that leave out `share` of one side."""
    return (share, 0, 1, 1), (0, share, 1, 1), (0, 0, 1 - share, 1), (0, 0, 1, 1 - share)


# Crops: 5%, 10% and 7.5% off one side (a copy cut between two of them still
# meets one), and 5% off every side (a slight zoom). Pictures stored before
# the later crops existed have the first four only.
CROPS = (
    *one_side(CROP),
    *one_side(2 * CROP),
    (CROP, CROP, 1 - CROP, 1 - CROP),
    *one_side(1.5 * CROP),
)
TRIM = 0.25  # the most of a side the trimmed variant leaves out as a plain margin
MARGIN_LEVELS = 6  # grey levels a margin's pixels may stray from its edge's median
MARGIN_SIDE = 256  # margins are found on the grey picture reduced to at most this side
VARIANT_NAMES = tuple(name for _, name in TURNS) + ("cropped",) * len(CROPS) + ("margins cut off",)
TURN_VARIANTS = len(TURNS)  # variants 0..6 are turns, the rest crops


def working_scale(width: int, height: int) -> int:
    """Side of the square grayscale picture imagehash's whash works on."""
    natural = 1 << (min(width, height).bit_length() - 1)
    return max(natural, HASH_SIZE)


def whash_working_image(img: Image.Image, gray: Image.Image | None = None) -> Image.Image:
    """The grayscale power-of-two square that whash is defined on (one resize);
    `gray`: img.convert("L") if already made."""
    scale = working_scale(*img.size)
    source = img.convert("L") if gray is None else gray
    return source.resize((scale, scale), Image.Resampling.LANCZOS)


def square_block_sums(gray: Image.Image, count: int) -> np.ndarray:
    """Exact sums of count x count blocks of a square working picture."""
    # Imported here: processes that only need hamming() (the Datasette
    # plugin) never load numba.
    from .pixels import square_block_sums as compiled

    return compiled(gray, count)


def whash_from_working(gray: Image.Image) -> str:
    """whash hex of a working image made by `whash_working_image`."""
    return whash_from_sums(gray, square_block_sums(gray, HASH_SIZE))


def whash_from_sums(gray: Image.Image, sums: np.ndarray) -> str:
    """whash hex from the 8x8 block sums of the working image `gray`."""
    flat = sums.ravel()
    middle = np.partition(flat, (31, 32))
    below, above = middle[31], middle[32]
    if below == above:
        # A tie at the median: only imagehash's own rounding decides.
        low = whash_low_band(gray)
        return bits_to_hex(low > np.median(low))
    return bits_to_hex(flat > below)


def whash_low_band(gray: Image.Image) -> np.ndarray:
    """The 8x8 array imagehash's whash compares with its median, computed with
    the same pywt calls on one block of the working picture at a time.

    imagehash takes the full Haar decomposition, zeroes its single lowest
    coefficient, reconstructs, then decomposes again to 8x8. The first and
    the last steps stay inside each of the 64 blocks; only the 8x8 top of
    the first decomposition is global, and it is small.
    """
    import pywt  # imagehash's own wavelet library, already installed with it

    side = gray.width
    levels = side.bit_length() - 1 - HASH_SIZE.bit_length() + 1  # down to one value a block
    block = side // HASH_SIZE
    pixels = np.asarray(gray)

    def decompose(i: int, j: int) -> list:
        part = pixels[i * block : (i + 1) * block, j * block : (j + 1) * block] / 255.0
        return pywt.wavedec2(part, "haar", level=levels)

    cells = [(i, j) for i in range(HASH_SIZE) for j in range(HASH_SIZE)]
    top = np.empty((HASH_SIZE, HASH_SIZE))
    for i, j in cells:
        top[i, j] = decompose(i, j)[0][0, 0]
    upper = list(pywt.wavedec2(top, "haar", level=HASH_SIZE.bit_length() - 1))
    upper[0] *= 0  # imagehash's remove_max_haar_ll
    top = pywt.waverec2(upper, "haar")
    low = np.empty((HASH_SIZE, HASH_SIZE))
    for i, j in cells:
        coeffs = decompose(i, j)
        coeffs[0] = np.array([[top[i, j]]])
        rebuilt = pywt.waverec2(coeffs, "haar")
        low[i, j] = pywt.wavedec2(rebuilt, "haar", level=levels)[0][0, 0]
    return low


def bits_to_hex(bits: np.ndarray) -> str:
    """Hex text of a boolean array, first element most significant (imagehash's order)."""
    value = 0
    for bit in bits.ravel():
        value = (value << 1) | int(bit)
    return f"{value:0{(bits.size + 3) // 4}x}"


def whash(img: Image.Image) -> str:
    """Equal to str(imagehash.whash(img)), much faster."""
    return whash_from_working(whash_working_image(img))


def hash_image(img: Image.Image, gray: Image.Image | None = None) -> Hashes:
    """whash, phash and dhash of a picture from one grayscale resize; `gray`:
    img.convert("L") if already made, or that turned upright (the picture
    hashed is `gray`; only img's short side is read).

    phash and dhash follow imagehash's steps on a 32x32 reduction of the whash
    working picture, not on the original: that saves two full-size resizes.
    """
    source = img.convert("L") if gray is None else gray
    working = whash_working_image(img, source)
    # Margins on a box reduction, which does not ring at a margin's edge as
    # the working picture's Lanczos does; a big working picture rings over
    # too few pixels to matter, and is the cheaper one to reduce.
    sharp = working if working.width >= 2 * MARGIN_SIDE else source
    factor = -(-max(sharp.size) // MARGIN_SIDE)
    return hashes_from_working(working, content_box(sharp.reduce(factor) if factor > 1 else sharp))


def hashes_from_working(
    gray: Image.Image, content: tuple[float, float, float, float] = (0, 0, 1, 1)
) -> Hashes:
    """All three hashes from the whash working picture.

    One pass sums its 64x64 blocks: their 8x8 totals give whash, their means
    are the box reduction Pillow's `resize(..., reducing_gap=2.0)` starts
    from, so the 32x32 picture phash and dhash use costs one small Lanczos.
    """
    side = gray.width
    if side >= 2 * REDUCED_SIDE:
        fine = square_block_sums(gray, REDUCED_SIDE)
        step = REDUCED_SIDE // HASH_SIZE
        coarse = fine.reshape(HASH_SIZE, step, HASH_SIZE, step).sum(axis=(1, 3))
        area = (side // REDUCED_SIDE) ** 2
        start = Image.fromarray(((fine + area // 2) // area).astype(np.uint8))
    else:
        coarse = square_block_sums(gray, HASH_SIZE)
        start = gray
    small = start.resize((PHASH_SIDE, PHASH_SIDE), Image.Resampling.LANCZOS)
    return Hashes(
        whash=whash_from_sums(gray, coarse),
        phash=phash_from_small(small),
        dhash=dhash_from_small(small),
        variants=variant_hashes(start=start, small=small, coarse=coarse, content=content),
    )


def variant_hashes(
    start: Image.Image,
    small: Image.Image,
    coarse: np.ndarray,
    content: tuple[float, float, float, float] = (0, 0, 1, 1),
) -> bytes:
    """The whash, phash and dhash of every variant in `VARIANT_NAMES`, packed
    as little-endian uint64 (variant by variant, hashes in VARIANT_HASHES order).

    A turn moves the 8x8 block sums and the 9x8 dhash reduction as it moves
    the picture, so the seven turns cost array operations and small DCTs,
    not new reductions. The crops (`CROPS`, then `content`: the picture
    inside its plain margins) reduce the 64x64 (or smaller) picture again
    with a box that leaves the cut part out. Variant whashes are "block above
    the median" like whash itself, without imagehash's tie rule: variants
    only ever meet plain hashes.
    """
    pixels = np.asarray(small, dtype=np.float64)
    wide = np.asarray(small.resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS))
    tall = np.asarray(small.resize((HASH_SIZE, HASH_SIZE + 1), Image.Resampling.LANCZOS))
    sums, smalls, reduced = [], [], []
    for turn, _ in TURNS:
        sums.append(turn(coarse))
        smalls.append(turn(pixels))
        # dhash of the turned picture: the reduction that becomes 9 wide.
        reduced.append(turn(tall if turn(wide).shape[1] == HASH_SIZE else wide))
    side, step = start.width, PHASH_SIDE // HASH_SIZE
    for left, top, right, bottom in (*CROPS, content):
        box = (left * side, top * side, right * side, bottom * side)
        cropped = start.resize((PHASH_SIDE, PHASH_SIDE), Image.Resampling.LANCZOS, box=box)
        values = np.asarray(cropped, dtype=np.float64)
        sums.append(values.reshape(HASH_SIZE, step, HASH_SIZE, step).sum(axis=(1, 3)))
        smalls.append(values)
        reduced.append(
            np.asarray(cropped.resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS))
        )
    low = DCT_LOW @ np.stack(smalls) @ DCT_LOW.T
    near = np.stack(reduced).astype(np.int16)
    codes = np.stack(
        [
            _packed(_above_median(np.stack(sums).astype(np.float64))),
            _packed(_above_median(low)),
            _packed(near[:, :, 1:] > near[:, :, :-1]),
        ],
        axis=1,
    )
    return codes.astype("<u8").tobytes()


def content_box(gray: Image.Image) -> tuple[float, float, float, float]:
    """The picture inside its plain margins (a frame, a screenshot's bars, a
    letterbox), as shares of each side: rows and columns at an edge whose
    pixels all lie within MARGIN_LEVELS of that edge's median are margin, up
    to TRIM of a side. The whole picture when it has none."""
    values = np.asarray(gray, dtype=np.int16)

    def margin(lines: np.ndarray) -> float:
        level = np.median(lines[0])
        if np.abs(lines[0] - level).max() > MARGIN_LEVELS:
            return 0.0  # most pictures: no margin, and nothing more to look at
        most = int(len(lines) * TRIM)
        plain = np.all(np.abs(lines[:most] - level) <= MARGIN_LEVELS, axis=1)
        return (most if plain.all() else int(np.argmin(plain))) / len(lines)

    top, bottom = margin(values), margin(values[::-1])
    left, right = margin(values.T), margin(values.T[::-1])
    return left, top, 1 - right, 1 - bottom


def _above_median(values: np.ndarray) -> np.ndarray:
    """Per 8x8 array of a stack: which elements are above its median."""
    flat = values.reshape(len(values), -1)
    return flat > np.median(flat, axis=1, keepdims=True)


def _packed(bits: np.ndarray) -> np.ndarray:
    """A stack of 64 bits each as unsigned values, first bit most significant."""
    return np.packbits(bits.reshape(len(bits), -1), axis=1).view(">u8").ravel().astype(np.uint64)


def dct_rows(n: int, keep: int) -> np.ndarray:
    """The first `keep` rows of the unnormalised DCT-II matrix (scipy's default)."""
    k = np.arange(keep)[:, None]
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


PHASH_SIDE = HASH_SIZE * 4  # imagehash's highfreq_factor of 4
REDUCED_SIDE = PHASH_SIDE * 2  # Pillow's reducing gap of 2: box-reduce to 64, then Lanczos
DCT_LOW = dct_rows(PHASH_SIDE, HASH_SIZE)


def phash_from_small(small: Image.Image) -> str:
    """imagehash.phash's steps on a 32x32 grayscale picture, without scipy.

    The DCT is the same transform as scipy.fftpack.dct (type II, unnormalised),
    only its 8x8 low-frequency corner is computed.
    """
    pixels = np.asarray(small, dtype=np.float64)
    low = DCT_LOW @ pixels @ DCT_LOW.T
    return bits_to_hex(low > np.median(low))


def dhash_from_small(small: Image.Image) -> str:
    """imagehash.dhash's steps (9x8 Lanczos, compare neighbours) on a small picture."""
    pixels = np.asarray(small.resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS))
    return bits_to_hex(pixels[:, 1:] > pixels[:, :-1])
