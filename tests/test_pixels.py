"""Extrema read in place equal Pillow's getextrema(), whatever the picture."""

import numpy as np
import pytest
from PIL import Image, ImageFilter

from ingest.analyse import pillow_extrema
from ingest.hashing import dhash_from_small, hashes_from_working, phash_from_small
from ingest.pixels import fast_extrema, keep_pictures_in_one_block, square_block_sums, survey
from ingest.thumbnails import make_thumbnail, thumbnail_box

MODES = ["L", "LA", "RGB", "RGBA", "CMYK", "P", "1", "I;16", "I", "F", "YCbCr"]
SIZES = [(1, 1), (3, 1), (1, 5), (7, 9), (16, 4), (33, 17), (640, 480)]


def picture(mode: str, size: tuple[int, int], seed: int, spread: int) -> Image.Image:
    """Random pixels in a narrow band of values (so extrema are not 0 and 255)."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(
        rng.integers(100 - spread, 101 + spread, (size[1], size[0], 4), dtype=np.uint8), "RGBA"
    )
    return base.convert(mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", SIZES)
def test_extrema_equal_pillow(mode, size):
    for seed, spread in ((1, 0), (2, 3), (3, 100)):
        img = picture(mode, size, seed, spread)
        assert pillow_extrema(img) == img.getextrema()
        fast = fast_extrema(img)
        assert fast is None or fast == img.getextrema()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "CMYK"])
def test_the_fast_path_is_taken_and_sees_every_pixel(mode):
    """One odd pixel anywhere, last one included, changes the answer."""
    for x, y in ((0, 0), (131, 70), (132, 71)):
        img = picture(mode, (133, 72), 5, 10)
        img.putpixel((x, y), 255 if img.mode == "L" else (255,) * len(img.getbands()))
        assert fast_extrema(img) == img.getextrema()


def test_a_large_photo_is_read_in_place():
    """Above Pillow's 16 MB block the picture is kept in one piece on request."""
    keep_pictures_in_one_block()
    img = picture("RGB", (2600, 2000), 7, 20)  # 20.8 MB of storage
    img.putpixel((2599, 1999), (0, 255, 90))
    assert fast_extrema(img) == img.getextrema() == ((0, 120), (80, 255), (80, 120))


@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.parametrize("size", [(2048, 1365), (1001, 999), (130, 3000), (5000, 40), (300, 200)])
def test_one_pass_thumbnail_matches_pillows(mode, size):
    """The block means equal Pillow's reduce() (to its rounding), so thumbnails
    made from them look like Pillow's own; edge blocks that are cut short too."""
    rng = np.random.default_rng(size[0])
    gradient = np.add.outer(np.arange(size[1]) * 200 // size[1], np.arange(size[0]) * 50 // size[0])
    noise = rng.integers(0, 6, (size[1], size[0], 3))
    img = Image.fromarray((gradient[:, :, None] + noise).astype(np.uint8), "RGB").convert(mode)
    box = thumbnail_box(*img.size, 64)
    found = survey(img, box)
    assert found.extrema == img.getextrema()
    assert found.reduced is not None and found.factors != (1, 1)
    expected = np.asarray(img.reduce(found.factors), dtype=int)
    assert np.abs(np.asarray(found.reduced, dtype=int) - expected).max() <= 1
    ours = np.asarray(make_thumbnail(img, 64, (found.reduced, found.factors)), dtype=int)
    pillows = np.asarray(make_thumbnail(img, 64), dtype=int)
    assert ours.shape == pillows.shape
    assert np.abs(ours - pillows).max() <= 2 and np.abs(ours - pillows).mean() < 0.5


def test_grey_levels_equal_pillows_convert_for_every_colour():
    """All 2^24 colours, as one 4096x4096 picture: the survey's grey levels
    are Pillow's convert("L"), bit for bit (whash's first step)."""
    colours = np.arange(1 << 24, dtype=np.uint32)
    channels = [(colours >> shift) & 0xFF for shift in (16, 8, 0)]
    img = Image.fromarray(np.stack(channels, axis=1).astype(np.uint8).reshape(4096, 4096, 3))
    found = survey(img, thumbnail_box(*img.size, 64), gray=True)
    assert found.gray is not None and found.gray.size == img.size
    assert np.array_equal(np.asarray(found.gray), np.asarray(img.convert("L")))


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK"])
def test_grey_levels_are_made_for_rgb_only(mode):
    img = picture(mode, (40, 30), 4, 50)
    found = survey(img, gray=True)
    assert found.gray is None and found.extrema == img.getextrema()


def test_small_pictures_need_no_reduction():
    img = picture("RGB", (100, 80), 9, 30)
    found = survey(img, thumbnail_box(*img.size, 64))
    assert found.reduced is None and found.extrema == img.getextrema()


@pytest.mark.parametrize("side", [8, 16, 64, 128, 1024])
def test_square_block_sums_are_exact(side):
    rng = np.random.default_rng(side)
    pixels = rng.integers(0, 256, (side, side), dtype=np.uint8)
    gray = Image.fromarray(pixels)
    for count in (8, 64):
        if side % count:
            continue
        block = side // count
        expected = pixels.reshape(count, block, count, block).sum(axis=(1, 3), dtype=np.int64)
        assert (square_block_sums(gray, count) == expected).all()


def test_the_hashes_small_picture_is_pillows():
    """phash and dhash start from Pillow's own 32x32 reduction of the working
    picture (box-reduce to 64, then Lanczos), computed from the block sums."""
    rng = np.random.default_rng(4)
    for side in (128, 256, 1024):
        noise = rng.integers(0, 256, (side, side), dtype=np.uint8)
        gray = Image.fromarray(noise).filter(ImageFilter.GaussianBlur(side / 64))
        small = gray.resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)
        expected = (phash_from_small(small), dhash_from_small(small))
        got = hashes_from_working(gray)
        assert (got.phash, got.dhash) == expected
